"""Tables are normalised per distinct value (normalise/distinct.py); the result must be the
list path's, value for value and failure for failure, on random and edge inputs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aanlevering.pseudonym.identifiers import PERSON_FIELDS
from aanlevering.pseudonym.normalise import get_profile
from aanlevering.pseudonym.source_step import SourceKey, apply_source_step
from aanlevering.pseudonym_types import PseudonymType

PROFILE = get_profile("nl-2026.1")
ALL_TYPES = list(PseudonymType)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

POOL = {
    "own_name": ["Jansen", "van den Berg", "de Vries", "Ünal", "  ", "", "Berg, van den"],
    "own_prefix": ["van", "de", "", None],
    "partner_name": ["Bakker", None],
    "partner_prefix": [None, "van"],
    "given_names": ["Jan", "Émile", "", " ", "1"],
    "initials": ["J.", "IJ.", "", "  ", "É"],
    "birth_date": ["1980-01-31", "31-01-1980", "19800131", "1980-02-30", "", "1899-12-31", "x"],
    "sex": ["M", "V", "man", "vrouw", "0", "9", "q", ""],
    "postcode": ["1012 NX", "1012nx", "0123 AB", "1012", "9711LM", "", "ABCDEF"],
    "house_number": ["12", "12a", "12-2", "0", "x", ""],
    "house_number_addition": ["A", "", None, "bis"],
    "bsn": ["123456782", "12345678", "111222333", "", "abc"],
    "mrn": ["MRN0012345", "0012345", "", " ", "a/b", "x" * 70],
    "patient_id": ["p1", "p2", "", "0012345"],
}


def _value(field: str) -> st.SearchStrategy[Any]:
    return st.sampled_from(POOL[field]) | st.none() | st.text(max_size=10)


rows_strategy = st.lists(
    st.fixed_dictionaries({name: _value(name) for name in PERSON_FIELDS}), min_size=0, max_size=30
)


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.table(
        {name: pa.array([row[name] for row in rows], pa.string()) for name in PERSON_FIELDS}
    )


def _same(table: pa.Table, types: list[PseudonymType]) -> None:
    fast = PROFILE.normalise_columns(table, types)
    reference = PROFILE.normalise_lists(table, types)  # type: ignore[attr-defined]
    assert fast.num_rows == reference.num_rows
    assert {t: list(v) for t, v in fast.values.items()} == {
        t: list(v) for t, v in reference.values.items()
    }
    assert fast.failures == reference.failures


@SETTINGS
@given(rows_strategy, st.lists(st.sampled_from(ALL_TYPES), min_size=1, max_size=4))
def test_table_path_equals_the_list_path(rows: list[dict[str, Any]], types: list[Any]) -> None:
    _same(_table(rows), types)


@SETTINGS
@given(rows_strategy)
def test_table_path_equals_the_list_path_for_every_type(rows: list[dict[str, Any]]) -> None:
    _same(_table(rows), ALL_TYPES)


def test_typed_chunked_and_partial_tables() -> None:
    table = pa.table(
        {
            "own_name": pa.chunked_array([["Jansen", None], ["de Vries"]]),
            "birth_date": pa.array([date(1980, 1, 31), None, date(2001, 5, 6)], pa.date32()),
            "sex": pa.array([1, 2, 7], pa.int64()),
            "postcode": pa.array(["1012 NX", "1012 NX", "9711lm"]).dictionary_encode(),
            "initials": pa.array(["J.", None, "K"]),
            "mrn": pa.array([12345, None, 7], pa.int64()),
            "patient_id": pa.array(["p1", "p2", "p3"]),
            "remarks": pa.array(["not a field", "", ""]),
        }
    )
    _same(table, ALL_TYPES)
    _same(table.slice(1), ALL_TYPES)
    _same(table.slice(0, 0), ALL_TYPES)


def test_pinned_digests_do_not_change_with_the_table_path() -> None:
    """The source digests of a table are those of the same rows as Python lists."""
    key = SourceKey("pin", 1, bytes(range(32)))
    rows = [{name: POOL[name][i % len(POOL[name])] for name in PERSON_FIELDS} for i in range(40)]
    table = _table(rows)
    types = [PseudonymType.NGGV, PseudonymType.SNGG, PseudonymType.RGG, PseudonymType.GG]
    fast = apply_source_step(PROFILE.normalise_columns(table, types), key)
    columns = {name: [row[name] for row in rows] for name in PERSON_FIELDS}
    reference = apply_source_step(PROFILE.normalise_columns(columns, types), key)
    assert dict(fast.values) == dict(reference.values)
    assert any(v for v in fast.values[PseudonymType.GG])


PLAIN_MRN = st.text(alphabet="abcXYZ0189./_-", min_size=1, max_size=64)


@SETTINGS
@given(
    mrns=st.lists(PLAIN_MRN, min_size=1, max_size=30),
    odd=st.one_of(st.none(), st.sampled_from(["", " A1", "é1", "x" * 65, "A B", "\t", "A1\n"])),
    at=st.integers(min_value=0),
)
def test_plain_mrns_in_arrow_equal_the_list_path(mrns: list[str], odd: str | None, at: int) -> None:
    """All plain: upper-cased in Arrow; one odd value anywhere: the list path; same result."""
    for column in (mrns, [*mrns[: at % len(mrns)], odd, *mrns[at % len(mrns) :]]):
        table = pa.table(
            {
                "mrn": pa.array(column, pa.string()),
                "patient_id": pa.array([f"p{i}" for i in range(len(column))], pa.string()),
            }
        )
        _same(table, [PseudonymType.MRN])


_DIGIT = st.sampled_from("0123456789") | st.sampled_from(
    ["\u0661", "\uff11", "x"]
)  # Arabic-Indic and fullwidth one
_LETTER = st.sampled_from("ABDSXZabdsxz") | st.sampled_from(
    ["É", "ß", "\u0131", "ﬀ", "1"]
)  # 0131: dotless i
_GAP = st.sampled_from(["", "", " ", "  ", "-", "\t", "\n", " - "])
postcodes = st.one_of(
    st.builds(
        lambda d, gap, letters, tail: "".join(d) + gap + "".join(letters) + tail,
        st.lists(_DIGIT, min_size=3, max_size=5),
        _GAP,
        st.lists(_LETTER, min_size=0, max_size=3),
        st.sampled_from(["", "", " ", "\n", "x"]),
    ),
    st.sampled_from(["1012 SA", "1012sd", "1012 Ss", "1012 sb", "9999zZ", "1000", "0999", ""]),
    st.text(max_size=8),
)


@given(st.lists(st.none() | postcodes, max_size=40))
@SETTINGS
def test_postcodes_in_arrow_equal_the_field_functions(values: list[str | None]) -> None:
    """The usual postcodes are canonical in Arrow (decision 0309); every value still gets
    what ``normalise_pc4`` / ``normalise_pc6`` give it, failures included."""
    from aanlevering.pseudonym.normalise.distinct import distinct_map
    from aanlevering.pseudonym.normalise.failures import FieldInvalid
    from aanlevering.pseudonym.normalise.postcode import normalise_pc4, normalise_pc6

    column = pa.array(values, pa.string())
    for fn in (normalise_pc4, normalise_pc6):
        expected: list[str | None] = []
        errors = {}
        for row, value in enumerate(values):
            try:
                expected.append(fn(value))
            except FieldInvalid as error:
                expected.append(None)
                errors[row] = ("postcode", error.reason)
        got, got_errors = distinct_map(fn, column, "postcode")
        assert got.to_pylist() == expected
        assert got_errors == errors
