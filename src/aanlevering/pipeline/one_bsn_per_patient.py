"""One patient number, one BSN: an export that gives a patient number two BSNs stops the run.

Why (decision 1015): pseudonymisation takes one identity row per patient
number, the first of the dataset with the most identity columns
(:func:`aanlevering.pseudonym.service.unique_patients`). A CSV export in which
one patient number carries two different valid BSNs (a merged patient record,
a dataset exported from another system, a row joined to the wrong patient)
was pseudonymised with whichever came first, without a word: every record of
that number went to the registry holder under the linkage pseudonym of one
person, some of them another person's. Which BSN is the patient's cannot be
told here, so the run stops before anything is pseudonymised or sent,
naming the datasets and the count, never a number.

Compared are BSNs that can be one (nine digits, or eight that lost the
leading zero, written with or without spaces, dots or dashes, passing the
eleven-test): a missing or invalid BSN next to a valid one is no conflict
(the pseudonymise stage reports invalid values as before).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import ExtractError
from aanlevering.events.guard import elfproef_mask
from aanlevering.extract.model import Extract

#: Nine digits, or eight that lost the leading zero.
_SHAPED = r"^[0-9]{8,9}$"


def _valid_bsns(values: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """(row positions, nine digits) of the values that can be a BSN."""
    text = pc.cast(values, pa.string())
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    shaped = pc.fill_null(pc.match_substring_regex(text, _SHAPED), False)
    digits = text
    if not pc.all(shaped).as_py():  # a column of plain digits skips the separator regex
        digits = pc.replace_substring_regex(text, r"[\s.\-]", "")
        shaped = pc.fill_null(pc.match_substring_regex(digits, _SHAPED), False)
    rows = pc.indices_nonzero(shaped)
    nine = pc.utf8_lpad(pc.take(digits, rows), 9, "0")
    passing = pa.array(elfproef_mask(nine))
    return pc.filter(rows, passing), pc.filter(nine, passing)


def patients_with_two_bsns(extract: Extract) -> tuple[int, list[str]]:
    """(patient numbers with two or more different valid BSNs, the datasets giving BSNs)."""
    parts: list[pa.Table] = []
    named: list[str] = []
    for name, dataset in sorted(extract.datasets.items()):
        identity = dataset.identity
        if not identity.num_rows or not {"bsn", "patient_id"} <= set(identity.column_names):
            continue
        rows, bsns = _valid_bsns(identity.column("bsn"))
        if not len(rows):
            continue
        named.append(name)
        patients = pc.cast(pc.take(identity.column("patient_id"), rows), pa.string())
        parts.append(pa.table({"patient": patients, "bsn": bsns}))
    if not parts:
        return 0, named
    per_patient = pa.concat_tables(parts).group_by("patient").aggregate([("bsn", "count_distinct")])
    two = pc.sum(pc.greater(per_patient.column("bsn_count_distinct"), 1).cast(pa.int64())).as_py()
    return int(two or 0), named


def refuse_two_bsns_per_patient(extract: Extract) -> None:
    """ExtractError when a patient number carries two different BSNs (counts only)."""
    count, datasets = patients_with_two_bsns(extract)
    if not count:
        return
    raise ExtractError(
        f"registration {extract.registration_id}, period {extract.period.label}: {count} "
        f"patient number(s) carry two or more different valid BSNs in the export (identity "
        f"'bsn' of dataset(s) {', '.join(datasets)}); which is the patient's cannot be told, "
        "and records linked to another person are worse than none: correct the export (a "
        "merged patient record, a dataset from another system, a row joined to the wrong "
        "patient). Nothing of this run was pseudonymised or sent"
    )
