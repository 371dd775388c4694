"""The guard's run values stay in Arrow: the same values and tokens as through Python sets.

``run_identifiers`` reads each identity field's distinct values as one Arrow
column (``_values``) and hands that column to the token readers, instead of a
Python set of a million patient numbers made an Arrow array again.
"""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.guard import (
    _elfproef_bsns,
    _values,
    _values_reference,
    identifier_tokens,
    postcode_tokens,
)
from aanlevering.output.phones import run_phone_numbers

VOCABULARY = {"operatie", "jansen"}
TEXTS = st.lists(
    st.one_of(
        st.none(),
        st.text(alphabet=st.sampled_from(list("abcXYZ0123456789 -_.;,+'é")), max_size=16),
    ),
    max_size=25,
)


def _dataset(name: str, identity: pa.Table) -> ExtractedDataset:
    return ExtractedDataset(
        name=name,
        clinical=pa.table({"x": pa.array([1] * identity.num_rows)}),
        identity=identity,
        row_refs=pa.array([f"{name}.csv:{i + 2}" for i in range(identity.num_rows)]),
    )


@settings(max_examples=200, deadline=None)
@given(first=TEXTS, second=TEXTS, split=st.integers(0, 25))
def test_distinct_values_are_those_of_the_python_set(
    first: list[str | None], second: list[str | None], split: int
) -> None:
    chunked = pa.chunked_array([first[:split], first[split:]], pa.string())
    datasets = [
        _dataset("a", pa.table({"mrn": chunked, "patient_id": pa.array(first, pa.string())})),
        _dataset("b", pa.table({"mrn": pa.array(second, pa.large_string())})),
    ]
    for fields in (("mrn", "patient_id"), ("mrn",), ("bsn",)):
        values = _values(datasets, fields)
        assert values.type == pa.string()
        assert values.null_count == 0
        assert len(values) == len(set(values.to_pylist()))  # distinct
        assert set(values.to_pylist()) == _values_reference(datasets, fields)


def test_numbers_read_as_text() -> None:
    datasets = [_dataset("a", pa.table({"patient_id": pa.array([12, 12, None, 7])}))]
    assert sorted(_values(datasets, ("patient_id",)).to_pylist()) == ["12", "7"]
    assert _values_reference(datasets, ("patient_id",)) == {"12", "7"}


@settings(max_examples=200, deadline=None)
@given(values=st.sets(st.text(max_size=20), max_size=25))
def test_a_column_gives_the_tokens_of_the_same_values_as_a_set(values: set[str]) -> None:
    column = pa.array(sorted(values), pa.string())
    for shortest, letters in ((1, False), (4, True), (6, False)):
        assert identifier_tokens(column, shortest, letters, VOCABULARY) == identifier_tokens(
            values, shortest, letters, VOCABULARY
        )
    assert postcode_tokens(column) == postcode_tokens(values)
    assert _elfproef_bsns(column) == _elfproef_bsns(values)
    assert run_phone_numbers(column) == run_phone_numbers(values)


def test_the_column_readers_find_what_they_look_for() -> None:
    column = pa.array(["111222333", "1012 NX", "06-12345678", "MRN_0012345"], pa.string())
    assert _elfproef_bsns(column) == {"111222333"}
    assert postcode_tokens(column) == {"1012nx"}
    assert "612345678" in run_phone_numbers(column)
    assert "0012345" in identifier_tokens(column, 6, False, VOCABULARY)
