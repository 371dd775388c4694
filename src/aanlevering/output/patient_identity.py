"""Each record's own patient's identity field, also for a dataset that does not hold it.

Why: the checks that compare a delivered column with each record's own patient
(a birth date column, decision 0340; a name, address or patient number column,
decision 0851) read the record's identity row. A CSV dataset of child records
(DSAA's ``complicatie``) maps only the patient number under ``identity``: its
records have no name or birth date of their own to compare with, and a name or
birth date column mapped onto one of its variables went unseen. The patient's
field is then taken, through ``patient_id``, from another dataset of the run
that holds it (the first value found per patient).
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.extract.model import ExtractedDataset

#: The identity field that says which patient a record is of, in every dataset.
PATIENT = "patient_id"


def _flat(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def identity_column(
    datasets: Mapping[str, ExtractedDataset], name: str, field: str
) -> pa.Array | None:
    """``field`` of each record of dataset ``name`` (text, null where unknown), or None.

    The dataset's own column when it has one; else, by ``patient_id``, the value
    another dataset of the run holds for the same patient. None when no dataset
    holds ``field`` for any of its patients.
    """
    dataset = datasets[name]
    if field in dataset.identity.column_names:
        return pc.cast(_flat(dataset.identity.column(field)), pa.string())
    if PATIENT not in dataset.identity.column_names:
        return None
    patients = pc.cast(_flat(dataset.identity.column(PATIENT)), pa.string())
    keys: list[pa.Array] = []
    values: list[pa.Array] = []
    for other in datasets.values():
        names = other.identity.column_names
        if other is dataset or field not in names or PATIENT not in names:
            continue
        keys.append(pc.cast(_flat(other.identity.column(PATIENT)), pa.string()))
        values.append(pc.cast(_flat(other.identity.column(field)), pa.string()))
    if not keys:
        return None
    key = pa.concat_arrays(keys)
    value = pa.concat_arrays(values)
    known = pc.and_(pc.is_valid(key), pc.is_valid(value))
    key, value = pc.filter(key, known), pc.filter(value, known)
    if not len(key):
        return None
    # The first value of each patient: index_in finds a value's first place in ``key``.
    distinct = pc.unique(key)
    first = pc.index_in(distinct, value_set=key)
    at = pc.index_in(patients, value_set=distinct)
    return pc.take(pc.take(value, first), at)
