"""One identity row per patient by one hash pass and one sort is the grouping version.

``service.unique_patients`` numbers the ids with ``dictionary_encode`` and takes
each number's first row by ``np.unique``; ``unique_patients_reference`` groups
row numbers per id. Same rows in the same order for text, integer and chunked
ids, repeated or not; the same error for missing ids.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from aanlevering.errors import PseudonymisationError
from aanlevering.pseudonym.service import unique_patients, unique_patients_reference


def _table(rng: random.Random) -> pa.Table:
    rows = rng.choice([0, 1, 2, 7, 50, 400])
    pool = rng.randint(1, max(1, rows))
    if rng.random() < 0.3:
        ids: pa.Array | pa.ChunkedArray = pa.array(
            [rng.randint(0, pool) for _ in range(rows)], pa.int64()
        )
    else:
        ids = pa.array([f"p{rng.randint(0, pool)}" for _ in range(rows)], pa.string())
    values = pa.array(list(range(rows)), pa.int64())
    table = pa.table({"patient_id": ids, "row": values})
    if rows > 3 and rng.random() < 0.5:  # several chunks, as a concatenated extract has
        cut = rng.randint(1, rows - 1)
        table = pa.concat_tables([table.slice(0, cut), table.slice(cut)])
    return table


@pytest.mark.parametrize("seed", range(200))
def test_unique_patients_equal_the_grouping_version(seed: int) -> None:
    table = _table(random.Random(seed))
    assert unique_patients(table).to_pydict() == unique_patients_reference(table).to_pydict()


def test_missing_ids_are_refused_alike() -> None:
    table = pa.table({"patient_id": pa.array(["a", None, "a"]), "row": [0, 1, 2]})
    for fn in (unique_patients, unique_patients_reference):
        with pytest.raises(PseudonymisationError, match="1 record"):
            fn(table)


def test_the_first_row_of_each_patient_is_kept_in_row_order() -> None:
    table = pa.table({"patient_id": ["b", "a", "b", "c", "a"], "row": [0, 1, 2, 3, 4]})
    assert unique_patients(table).column("row").to_pylist() == [0, 1, 3]
