"""Which patients of an export will not get which pseudonyms, by hospital patient number.

For the hospital's own follow-up (``aanlevering failures``): the event log
names failing patients only by keyed reference, which no one can look up.
This recomputes the failures from the export with the registration's
normalisation profile (the same code the pseudonymisation stage runs, no TTP
needed) and keys them by the hospital patient number
(:mod:`aanlevering.extract.patient_key`). The result holds patient numbers:
print it to the hospital's operator, never log or store it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.extract.model import Extract
from aanlevering.extract.patient_key import patient_numbers
from aanlevering.pseudonym.identifiers import PERSON_FIELDS
from aanlevering.pseudonym.normalise.registry import get_profile


@dataclass(frozen=True)
class PatientFailures:
    """One patient's failed types: type -> (field, reason); and the records (row references)."""

    patient_number: str
    types: dict[str, tuple[str, str]]
    rows: tuple[str, ...] = field(default_factory=tuple)


def failing_patients(config: RegistrationConfig, extracted: Extract) -> list[PatientFailures]:
    """Every patient of ``extracted`` with at least one pseudonym type that cannot be made."""
    numbers: list[str] = []
    identities: list[pa.Table] = []
    rows_of: dict[str, list[str]] = defaultdict(list)
    for dataset in extracted.datasets.values():
        if not dataset.num_rows:
            continue
        keys = patient_numbers(dataset, extracted.source_kind).to_pylist()
        for key, ref in zip(keys, dataset.row_refs.to_pylist(), strict=True):
            rows_of[str(key)].append(str(ref))
        numbers += [str(key) for key in keys]
        identities.append(dataset.identity)
    if not identities:
        return []
    identity = pa.concat_tables(identities, promote_options="default")
    first: dict[str, int] = {}
    for row, number in enumerate(numbers):
        first.setdefault(number, row)
    patients = identity.take(pa.array(sorted(first.values()), pa.int64()))
    ordered = [numbers[row] for row in sorted(first.values())]
    # only the person's fields: street, phone and e-mail serve the output guard alone
    columns = {
        name: patients.column(name).to_pylist()
        for name in patients.column_names
        if name in PERSON_FIELDS
    }
    columns["mrn"] = ordered  # the number is the MRN pseudonym's input too
    pseudo = config.pseudonymisation
    canonical = get_profile(pseudo.profile).normalise_columns(columns, pseudo.types)
    failed: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
    for failure in canonical.failures:
        if failure.row is not None:
            failed[failure.row].setdefault(str(failure.type), (failure.field, failure.reason))
    return [
        PatientFailures(ordered[row], dict(sorted(types.items())), tuple(rows_of[ordered[row]]))
        for row, types in sorted(failed.items(), key=lambda item: ordered[item[0]])
    ]
