"""One patient number, one person: two birth dates, sexes or birth names stop the run.

Why (decision 1018, after 1015 for the BSN): pseudonymisation takes one
identity row per patient number, the first
(:func:`aanlevering.pseudonym.service.unique_patients`), while a generalised
variable (``birth_date:year``, ``sex``) is computed per record. An export in
which one number's rows give two birth dates, two sexes or two birth names (a
merged patient record, a row joined to the wrong patient, a typing error in
one system) was delivered without a word: every record linked under the GG,
RGG, C or NGG(V) pseudonym of the first row, while some records carried
another birth year or sex in the registry's own variables. A patient number
with two MRNs (a dataset that maps both) gave the hospital one of them back
when it reversed the MRN pseudonym of the other's records. Which row is
right cannot be told here, so the run stops before anything is pseudonymised
or sent, naming the fields, the datasets and the count, never a value.

Compared are the values as the normalisation profile compares them (a birth
date as ``YYYYMMDD`` whatever its format, sex as M/F/U, the birth name's letters
without voorvoegsels, folded to A-Z, an MRN trimmed and upper-cased): one
value written two ways is one value, and a missing or invalid value next to a
valid one is no conflict (the pseudonymise stage reports invalid values as
before). Postcode, house number,
first names and the partner's name are not compared: people move and marry
within a period, and the first row's values are used for pseudonyms as
before.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import ExtractError
from aanlevering.extract.model import Extract
from aanlevering.pseudonym.normalise.dates import normalise_birth_date
from aanlevering.pseudonym.normalise.failures import FieldInvalid
from aanlevering.pseudonym.normalise.mrn import normalise_mrn
from aanlevering.pseudonym.normalise.names import birth_name_letters
from aanlevering.pseudonym.normalise.sex import normalise_sex

#: Identity field -> how the profile compares it; the fields one person has one of.
COMPARED: dict[str, Callable[[object], str]] = {
    "birth_date": normalise_birth_date,
    "sex": normalise_sex,
    "own_name": birth_name_letters,
    "mrn": normalise_mrn,
}


def _normalised(values: pa.ChunkedArray | pa.Array, normalise: Callable[[object], str]) -> pa.Array:
    """Each value as the profile compares it, null where it cannot be normalised.

    Normalises each distinct value once (a column holds few), then maps them back.
    """
    flat = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    encoded = pc.dictionary_encode(flat)
    canonical: list[str | None] = []
    for value in encoded.dictionary.to_pylist():
        try:
            canonical.append(normalise(value))
        except (FieldInvalid, TypeError, ValueError):
            canonical.append(None)
    return pc.take(pa.array(canonical, pa.string()), encoded.indices)


def patients_with_two_persons(extract: Extract) -> tuple[int, list[str], list[str]]:
    """(patient numbers with two values of a compared field, those fields, the datasets)."""
    parts: dict[str, list[pa.Table]] = {field: [] for field in COMPARED}
    datasets: dict[str, set[str]] = {field: set() for field in COMPARED}
    for name, dataset in sorted(extract.datasets.items()):
        identity = dataset.identity
        if not identity.num_rows or "patient_id" not in identity.column_names:
            continue
        patients = pc.cast(identity.column("patient_id"), pa.string())
        for field, normalise in COMPARED.items():
            if field not in identity.column_names:
                continue
            values = _normalised(identity.column(field), normalise)
            rows = pc.indices_nonzero(pc.is_valid(values))
            if not len(rows):
                continue
            datasets[field].add(name)
            parts[field].append(
                pa.table({"patient": pc.take(patients, rows), "value": pc.take(values, rows)})
            )
    conflicting: pa.Array | None = None
    fields: list[str] = []
    for field, tables in parts.items():
        if not tables:
            continue
        per_patient = (
            pa.concat_tables(tables).group_by("patient").aggregate([("value", "count_distinct")])
        )
        two = pc.filter(
            per_patient.column("patient"), pc.greater(per_patient.column("value_count_distinct"), 1)
        )
        if not len(two):
            continue
        fields.append(field)
        two = two.combine_chunks() if isinstance(two, pa.ChunkedArray) else two
        conflicting = two if conflicting is None else pa.concat_arrays([conflicting, two])
    if conflicting is None:
        return 0, [], []
    named = sorted(set().union(*(datasets[field] for field in fields)))
    return len(pc.unique(conflicting)), fields, named


def refuse_two_persons_per_patient(extract: Extract) -> None:
    """ExtractError when a patient number's rows differ in birth date, sex, birth name or MRN."""
    count, fields, datasets = patients_with_two_persons(extract)
    if not count:
        return
    raise ExtractError(
        f"registration {extract.registration_id}, period {extract.period.label}: {count} "
        f"patient number(s) carry two or more different values of identity field(s) "
        f"{', '.join(fields)} in the export (dataset(s) {', '.join(datasets)}); pseudonyms "
        "would be made from the first row while the records say otherwise, and which is "
        "the patient's cannot be told: correct the export (a merged patient record, a row "
        "joined to the wrong patient, a typing error in one system). Nothing of this run "
        "was pseudonymised or sent"
    )
