"""Vectorised casts accept what Dutch EHR exports write and turn the rest into nulls."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest

from aanlevering.extract.casts import CastSpec, cast_text, clean, format_pattern, parse_dates

SPEC = CastSpec()


def _cast(values: list[str | None], type_name: str, spec: CastSpec = SPEC) -> list[object]:
    return cast_text(clean(pa.array(values, pa.string())), type_name, spec).to_pylist()


def test_clean_trims_and_turns_empty_cells_into_nulls() -> None:
    assert clean(pa.array(["  a ", "", "   ", None, "b"])).to_pylist() == [
        "a",
        None,
        None,
        None,
        "b",
    ]


def test_dates_in_every_configured_format_and_nothing_else() -> None:
    values = ["15-01-2026", "1-2-2026", "2026-01-15", " 03-02-2026 ", "31-02-2026", "15-1-26",
              "2026-13-01", "15/01/2026", "15-01-2026 10:00", "gisteren", ""]  # fmt: skip
    assert _cast(values, "date") == [
        date(2026, 1, 15), date(2026, 2, 1), date(2026, 1, 15), date(2026, 2, 3),
        None, None, None, None, None, None, None,
    ]  # fmt: skip


def test_a_format_outside_the_regex_subset_still_parses_with_strptime() -> None:
    assert format_pattern("%d %b %Y") is None
    assert parse_dates(pa.array(["15 Jan 2026"]), ["%d %b %Y"]).to_pylist() == [date(2026, 1, 15)]


def test_datetimes_keep_minutes_and_reject_impossible_times() -> None:
    values = ["14-03-2026 22:05", "2026-03-14T07:40", "14-03-2026 25:00", "14-03-2026"]
    assert _cast(values, "datetime") == [
        datetime(2026, 3, 14, 22, 5),
        datetime(2026, 3, 14, 7, 40),
        None,
        None,
    ]


def test_decimal_comma_is_the_default_and_a_point_is_then_a_problem() -> None:
    assert _cast(["25,4", "31", "-0,5", ",5", "+1,5", "25.4", "1.234,5", "abc"], "decimal") == [
        25.4, 31.0, -0.5, 0.5, 1.5, None, None, None
    ]  # fmt: skip
    point = CastSpec(decimal=".")
    assert _cast(["25.4", "25,4"], "decimal", point) == [25.4, None]


def test_integers_are_whole_numbers_only() -> None:
    assert _cast(["55", "+7", "-3", "55,0", "5 5", "x"], "integer") == [55, 7, -3, None, None, None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ja", True), ("Nee", False), ("J", True), ("n", False), ("1", True), ("0", False),
     ("TRUE", True), ("false", False), ("waar", True), ("onwaar", False), ("misschien", None)],
)  # fmt: skip
def test_booleans_in_dutch_and_english(text: str, expected: bool | None) -> None:
    assert _cast([text], "boolean") == [expected]


def test_codes_and_strings_pass_through_as_text() -> None:
    assert _cast([" 3a ", "EVAR"], "code") == ["3a", "EVAR"]
