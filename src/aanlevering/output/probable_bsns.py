"""A delivered value holding a number that passes the BSN eleven-test, not the run's own BSN.

Why: the output guard searches the delivery for *this run's* identifiers. An export
without a BSN column (a registration whose pseudonym types need none) gives it no BSNs
to look for, and a BSN of someone else (a partner, a parent, another patient) is not
among them either: a BSN written into a free-text remark then went out, over HTTPS,
to the registry holder (decision 0603). The reference registry holder refuses any cell
holding nine digits that pass the eleven-test, so such a delivery can never be
accepted: refusing it before anything is written keeps the number in the hospital.

Compared are the string, integer, decimal and code variables of every dataset, except
the dictionary's key and relation variables (delivered as keyed hashes); a code of the
variable's own option set never counts (the registry holder's code). Codes were left
out at first: a BSN column mapped onto a code variable (``BSN_NR: techniek``) then went
out whenever the option-set check only warned or there was none (decision 0803). The
run's own BSNs are left to the output guard, which names the file and column. Nothing
here logs or raises a value.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.arrow_counts import count_true
from aanlevering.catalogue.model import DataDictionary
from aanlevering.events.guard import probable_bsns
from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.guard import IdentifierInDelivery, run_bsns

#: Variable types whose delivered text may hold a BSN-shaped number.
CHECKED_TYPES = frozenset({"string", "integer", "decimal", "code"})
#: Nine digits, optionally written 1234.56.782: the values worth reading in Python.
_SHAPED = r"\d{4}\.?\d{2}\.?\d{3}"


def probable_bsn_counts(
    datasets: Mapping[str, ExtractedDataset], dictionary: DataDictionary
) -> dict[str, int]:
    """``dataset.variable`` -> how many records hold a number passing the eleven-test
    that is not one of the run's own BSNs."""
    own = run_bsns(datasets.values())
    counts: dict[str, int] = {}
    for name, dataset in datasets.items():
        try:
            described = dictionary.dataset(name)
        except KeyError:
            continue
        keyed = set(described.key) | {relation.variable for relation in described.relations}
        for variable in described.variables:
            if variable.type not in CHECKED_TYPES or variable.name in keyed:
                continue
            if variable.name not in dataset.clinical.column_names:
                continue
            text = pc.cast(dataset.clinical.column(variable.name), pa.string())
            shaped = pc.fill_null(pc.match_substring_regex(text, _SHAPED), False)
            if not pc.any(shaped).as_py():
                continue
            allowed = _option_codes(dictionary, variable.option_set)
            bad = [
                value
                for value in pc.unique(pc.filter(text, shaped)).to_pylist()
                if value not in allowed and probable_bsns(value) - own
            ]
            if bad:
                hits = pc.is_in(text, value_set=pa.array(bad, pa.string()))
                counts[f"{name}.{variable.name}"] = count_true(hits)
    return counts


def _option_codes(dictionary: DataDictionary, option_set: str | None) -> frozenset[str]:
    """The codes of ``option_set`` (none when the variable has none or it is not there)."""
    found = dictionary.option_sets.get(option_set) if option_set else None
    return frozenset(found.codes) if found is not None else frozenset()


def refuse_probable_bsns(
    registration_id: str,
    datasets: Mapping[str, ExtractedDataset],
    dictionary: DataDictionary,
) -> None:
    """Raise :class:`IdentifierInDelivery` (exit 2) when a delivered variable holds a
    number that passes the BSN eleven-test and is not the run's own BSN.

    Called before the delivery files are written; the message names dataset,
    variable and counts, never a value.
    """
    counts = probable_bsn_counts(datasets, dictionary)
    if not counts:
        return
    where = "; ".join(f"{place} in {count} record(s)" for place, count in sorted(counts.items()))
    raise IdentifierInDelivery(
        f"registration {registration_id}: delivery blocked, {len(counts)} variable(s) hold a "
        f"number that passes the BSN eleven-test ({where}): a BSN in a remark, or a BSN "
        "column mapped to a clinical variable? A BSN is never delivered and the registry "
        "holder refuses any such number; remove it from the EHR field or the mapping; "
        "nothing was staged"
    )
