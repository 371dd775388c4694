"""The column builders convert their rows as one struct array: the same columns (0500).

``Builder.flush`` used to transpose the pending row tuples in Python and convert each
column with ``pa.array``; now Arrow converts the tuples as one struct array and splits
it. The straightforward version is kept here and the two must give equal tables for
every value type the streaming reader's columns hold (ints, small ints, text with
non-ASCII and empty strings, booleans, decimals with NaN and infinities, dates,
second timestamps, nulls everywhere), across batch boundaries.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from aanlevering.extract.fhir_columns import BATCH, Builder, PackedTexts
from aanlevering.extract.model import ARROW_TYPES

TYPES: dict[str, pa.DataType] = {
    "row": pa.int64(),
    "link": pa.int8(),
    "loc": pa.string(),
    **{f"v_{name}": arrow for name, arrow in ARROW_TYPES.items()},
    "ok": pa.bool_(),
}


def _value(rng: random.Random, arrow: pa.DataType) -> Any:
    if rng.random() < 0.2:
        return None
    if arrow == pa.int64():
        return rng.choice([0, -1, 2**63 - 1, -(2**63), rng.randrange(-(10**12), 10**12)])
    if arrow == pa.int8():
        return rng.randrange(-128, 128)
    if arrow == pa.string():
        return rng.choice(["", "Procedure.ndjson:12", "ë€𝄞 text", "x" * rng.randrange(200)])
    if arrow == pa.float64():
        return rng.choice([0.0, -0.0, 1.5, math.inf, -math.inf, math.nan, 1e308])
    if arrow == pa.date32():
        return date(rng.randrange(1900, 2100), rng.randrange(1, 13), rng.randrange(1, 29))
    if arrow == pa.timestamp("s"):
        return datetime(2026, rng.randrange(1, 13), 3, rng.randrange(24), rng.randrange(60), 7)
    return rng.random() < 0.5


def _reference(rows: list[tuple[Any, ...]], types: dict[str, pa.DataType]) -> pa.Table:
    """The straightforward flush: transposed in Python, converted column by column."""
    names = list(types)
    batches = []
    for start in range(0, len(rows), BATCH):
        columns = list(zip(*rows[start : start + BATCH], strict=True))
        arrays = [
            pa.array(column, types[name]) for name, column in zip(names, columns, strict=True)
        ]
        batches.append(pa.RecordBatch.from_arrays(arrays, names=names))
    return pa.Table.from_batches(batches, schema=pa.schema(list(types.items())))


def test_the_struct_flush_gives_the_column_by_column_table() -> None:
    rng = random.Random(500)
    rows = [tuple(_value(rng, arrow) for arrow in TYPES.values()) for _ in range(2 * BATCH + 17)]
    builder = Builder(TYPES)
    for row in rows:
        builder.add(row)
    table = builder.table()
    reference = _reference(rows, TYPES)
    assert table.schema.equals(reference.schema)
    assert table.num_rows == len(rows)
    for name in TYPES:  # NaN != NaN: compare as Python values with NaN made equal
        ours = table.column(name).to_pylist()
        theirs = reference.column(name).to_pylist()
        assert [_nan(v) for v in ours] == [_nan(v) for v in theirs], name


def _nan(value: Any) -> Any:
    return "nan" if isinstance(value, float) and math.isnan(value) else value


def test_the_kept_texts_builder_keeps_rows_and_texts_in_order(tmp_path: Path) -> None:
    texts = PackedTexts(tmp_path)
    rows = [(row, f'{{"id":"{row}","text":"ë"}}') for row in range(BATCH + 5)]
    for row in rows:
        texts.add(row)
    assert texts.text_rows().tolist() == [row for row, _ in rows]
    file, sizes = texts.close()
    assert sizes.tolist() == [len(text.encode()) for _, text in rows]
    found = pa.concat_arrays(list(file.take(np.arange(len(rows)), sizes))).to_pylist()
    assert found == [text for _, text in rows]
