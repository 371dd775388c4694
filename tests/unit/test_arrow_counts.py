"""count_true counts what a mask selects: trues only, nulls and empty masks as none."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from aanlevering.arrow_counts import count_true


def test_counts_trues_and_leaves_nulls_out() -> None:
    assert count_true(pa.array([True, False, None, True, None])) == 2


def test_empty_and_all_null_masks_count_none() -> None:
    assert count_true(pa.array([], type=pa.bool_())) == 0
    assert count_true(pa.array([None, None], type=pa.bool_())) == 0
    assert count_true(pa.chunked_array([], type=pa.bool_())) == 0


@given(st.lists(st.lists(st.one_of(st.none(), st.booleans()), max_size=20), max_size=5))
def test_chunked_masks_count_as_the_plain_loop(chunks: list[list[bool | None]]) -> None:
    mask = pa.chunked_array([pa.array(chunk, type=pa.bool_()) for chunk in chunks], type=pa.bool_())
    assert count_true(mask) == sum(value is True for chunk in chunks for value in chunk)
