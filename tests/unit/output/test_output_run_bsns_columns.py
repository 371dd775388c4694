"""The run's own BSNs taken in Arrow are the value-by-value set (decision 0891).

:func:`run_bsns` is what the output guard and the probable-BSN check (0603) leave
out or search for: a BSN missing from it is a BSN the guard does not look for, a
number too many is a run's own BSN the probable-BSN check lets pass. Pinned to
:func:`run_bsns_reference` on BSN columns as exports write them: nine digits, eight (a
lost leading zero), dotted, with leading zeros, nulls, failing the elfproef, non-ASCII.
"""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.guard import run_bsns, run_bsns_reference

#: Pass the elfproef: nine digits, eight (a lost leading zero), dotted, one with a zero.
PASSING = ["123456782", "12345672", "1234.56.782", "012345672", "111222333", "001234564"]
bsn = (
    st.sampled_from([*PASSING, "123456789", "000000000", "00000000", "", "x", "1234 56 782"])
    | st.text(alphabet="0123456789", min_size=7, max_size=10)
    | st.text(alphabet="0123456789 .-é", max_size=12)
)
column = st.lists(st.none() | bsn, max_size=25)


def _dataset(values: list[str | None]) -> ExtractedDataset:
    return ExtractedDataset(
        name="operatie",
        clinical=pa.table({"operatie_id": pa.array([str(i) for i in range(len(values))])}),
        identity=pa.table({"bsn": pa.array(values, pa.string())}),
        row_refs=pa.array([f"x.csv:{i + 2}" for i in range(len(values))]),
    )


@settings(max_examples=300, deadline=None)
@given(column, column)
def test_the_same_bsns_as_value_by_value(first: list[str | None], second: list[str | None]) -> None:
    datasets = [_dataset(first), _dataset(second)]
    assert run_bsns(datasets) == run_bsns_reference(datasets)
    assert run_bsns(iter(datasets)) == run_bsns_reference(datasets)  # read once


def test_the_forms_searched_for() -> None:
    """Nine digits, and without the leading zero; a failing number and no BSN column: none."""
    found = run_bsns([_dataset(["123456782", "1234.56.782", "12345672", "123456789", None])])
    assert found == {"123456782", "012345672", "12345672"}
    assert run_bsns([_dataset(["Ä12345672"])]) == {"012345672", "12345672"}
    assert run_bsns([_dataset([None, "123456789"])]) == frozenset()
    no_column = ExtractedDataset(
        name="operatie",
        clinical=pa.table({"operatie_id": ["1"]}),
        identity=pa.table({"patient_id": ["1"]}),
        row_refs=pa.array(["x.csv:2"]),
    )
    assert run_bsns([no_column]) == frozenset()
