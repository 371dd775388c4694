"""Vectorised casts of CSV text to the dictionary's types, with pyarrow.compute.

A million rows must cast in well under a second, so nothing here loops over
values in Python. A value that does not parse becomes null; the caller turns
"was present, is now null" into a :class:`~aanlevering.extract.model.TypeProblem`.

Dates are stricter than ``strptime`` alone: Arrow's ``strptime`` silently
rolls ``31-02-2026`` over to 3 March and accepts two-digit years for ``%Y``,
so each format is first matched as a regular expression and the parsed day,
month, hour and minute are compared with the digits written.

A format with ``%z`` (an export written in UTC or with offsets) gives an
instant; it is turned into Amsterdam wall time (decision 0650), the clock
periods are counted in, as the FHIR reader does (decision 0390). The hour and
minute written are then compared before that conversion.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.extract.model import ARROW_TYPES
from aanlevering.periods import TIMEZONE

#: Spellings of booleans in Dutch and English EHR exports (compared lower case).
TRUE_SPELLINGS: tuple[str, ...] = ("ja", "j", "1", "true", "t", "waar", "yes", "y")
FALSE_SPELLINGS: tuple[str, ...] = ("nee", "n", "0", "false", "f", "onwaar", "no")

_NULL_STRING = pa.scalar(None, pa.string())
_NULL_TIMESTAMP = pa.scalar(None, pa.timestamp("s"))
_INTEGER = r"^[+-]?\d{1,18}$"
_DECIMAL = {",": r"^[+-]?(\d+(,\d+)?|,\d+)$", ".": r"^[+-]?(\d+(\.\d+)?|\.\d+)$"}

# strptime directive -> (regex, named group checked against the parsed value)
_DIRECTIVES: dict[str, tuple[str, str | None]] = {
    "d": (r"(?P<d>\d{1,2})", "d"),
    "m": (r"(?P<m>\d{1,2})", "m"),
    "Y": (r"\d{4}", None),
    "y": (r"\d{2}", None),
    "H": (r"(?P<H>\d{1,2})", "H"),
    "M": (r"(?P<M>\d{2})", "M"),
    "S": (r"\d{2}", None),
    "z": (r"(?:Z|[+-]\d{2}(?::?\d{2})?)", None),  # only at the end: see _parse_checked
}
_OFFSET = _DIRECTIVES["z"][0]
_CHECKS = {"d": pc.day, "m": pc.month, "H": pc.hour, "M": pc.minute}


@dataclass(frozen=True)
class CastSpec:
    """How the source writes decimals, dates and date-times."""

    decimal: str = ","
    date_formats: tuple[str, ...] = ("%d-%m-%Y", "%Y-%m-%d")
    datetime_formats: tuple[str, ...] = ("%d-%m-%Y %H:%M", "%Y-%m-%dT%H:%M")


def clean(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Trim whitespace and turn empty strings into null: an empty cell is a missing value."""
    trimmed = pc.utf8_trim_whitespace(values)
    empty = pc.equal(trimmed, "")
    if not pc.any(empty).as_py():
        return trimmed
    return pc.if_else(empty, _NULL_STRING, trimmed)


@cache
def format_pattern(fmt: str) -> tuple[str, tuple[str, ...]] | None:
    """Full-match regex of a strptime format and the groups to check; None if unsupported."""
    parts: list[str] = []
    checks: list[str] = []
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char == "%" and i + 1 < len(fmt):
            directive = fmt[i + 1]
            if directive == "%":
                parts.append("%")
            elif directive == "z" and i + 2 < len(fmt):
                return None  # an offset is checked only at the end (see _parse_checked)
            elif directive in _DIRECTIVES:
                regex, check = _DIRECTIVES[directive]
                if check is not None:
                    if check in checks:
                        return None
                    checks.append(check)
                parts.append(regex)
            else:
                return None
            i += 2
        else:
            parts.append(re.escape(char))
            i += 1
    return "^" + "".join(parts) + "$", tuple(checks)


def _parse_exact(values: pa.Array | pa.ChunkedArray, fmt: str) -> pa.Array | pa.ChunkedArray:
    """strptime, accepting only text that matches the format's regex and did not roll over."""
    pattern = format_pattern(fmt)
    assert pattern is not None
    regex, checks = pattern
    if not checks:
        matched = pc.match_substring_regex(values, regex)
        candidates = pc.if_else(matched, values, _NULL_STRING)
        return pc.strptime(candidates, format=fmt, unit="s", error_is_null=True)
    parts = pc.extract_regex(values, regex)
    candidates = pc.if_else(pc.is_valid(parts), values, _NULL_STRING)
    parsed = pc.strptime(candidates, format=fmt, unit="s", error_is_null=True)
    ok = None
    for group in checks:
        written = pc.cast(pc.struct_field(parts, group), pa.int64(), safe=False)
        same = pc.equal(pc.cast(_CHECKS[group](parsed), pa.int64()), written)
        ok = same if ok is None else pc.and_(ok, same)
    return pc.if_else(ok, parsed, _NULL_TIMESTAMP)


def _wall_time(stamps: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Amsterdam wall time (naive) of instants parsed with ``%z``; naive values unchanged.

    ``2026-12-31T23:30:00Z`` is 00:30 on 1 January 2027 in Amsterdam: its day
    and so its period are Amsterdam's, never the UTC calendar day (0650).
    """
    if getattr(stamps.type, "tz", None) is None:
        return stamps
    zoned = pc.cast(stamps, pa.timestamp("s", tz=TIMEZONE))
    local = pc.cast(pc.local_timestamp(zoned), pa.timestamp("s"))
    utc = pc.cast(stamps, pa.timestamp("s"))  # the UTC wall time, offset dropped
    # A sentinel such as 9999-12-31T23:59:59Z is in year 10000 in Amsterdam, off
    # Python's calendar: it keeps its UTC day; a value off the calendar either way is none.
    wall = pc.if_else(_on_calendar(local), local, utc)
    return pc.if_else(_on_calendar(wall), wall, _NULL_TIMESTAMP)


def _on_calendar(stamps: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """True where a naive timestamp's year is 1..9999 (what Python's dates can hold)."""
    years = pc.year(stamps)
    return pc.fill_null(pc.and_(pc.greater_equal(years, 1), pc.less_equal(years, 9999)), False)


def _parse_one(values: pa.Array | pa.ChunkedArray, fmt: str) -> pa.Array | pa.ChunkedArray:
    """Naive timestamps (Amsterdam wall time) of ``values`` written as ``fmt``."""
    return _wall_time(_parse_checked(values, fmt))


def _parse_checked(values: pa.Array | pa.ChunkedArray, fmt: str) -> pa.Array | pa.ChunkedArray:
    """strptime, checked as strictly as the format allows.

    A format ending in ``%z`` parses to a UTC instant, whose day and hour are
    no longer those written; the check is then made on the text without its
    offset, against the format without ``%z``.
    """
    pattern = format_pattern(fmt)
    if fmt.endswith("%z") and pattern is not None:
        matched = pc.match_substring_regex(values, pattern[0])
        written = pc.if_else(matched, values, _NULL_STRING)
        local = pc.replace_substring_regex(written, _OFFSET + "$", "")
        checked = _parse_plain(local, fmt[:-2])
        parsed = pc.strptime(written, format=fmt, unit="s", error_is_null=True)
        return pc.if_else(pc.is_valid(checked), parsed, pa.scalar(None, parsed.type))
    return _parse_plain(values, fmt)


def _parse_plain(values: pa.Array | pa.ChunkedArray, fmt: str) -> pa.Array | pa.ChunkedArray:
    """strptime with the strict check only where it can matter, to stay fast.

    A day past the month's end rolls over onto day 1-3 of the next month, and
    a short year parses as a year before 1000; only such values (a few percent
    of real dates) go through the regex check of :func:`_parse_exact`.
    """
    parsed = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
    if format_pattern(fmt) is None:
        return parsed
    doubtful = pc.less_equal(pc.day(parsed), 3)
    if "%Y" in fmt or "%y" in fmt:
        doubtful = pc.or_(doubtful, pc.less(pc.year(parsed), 1000))
    doubtful = pc.fill_null(doubtful, False)
    if not pc.any(doubtful).as_py():
        return parsed
    exact = _parse_exact(pc.if_else(doubtful, values, _NULL_STRING), fmt)
    return pc.if_else(doubtful, exact, parsed)


def parse_timestamps(
    values: pa.Array | pa.ChunkedArray, formats: Sequence[str]
) -> pa.Array | pa.ChunkedArray:
    """Timestamps from text tried against ``formats`` in order; null where none fits."""
    result: pa.Array | pa.ChunkedArray | None = None
    for fmt in formats:
        if result is None:
            result = _parse_one(values, fmt)
            continue
        if result.null_count == values.null_count:
            break  # every value already parsed
        todo = pc.if_else(pc.is_null(result), values, _NULL_STRING)
        result = pc.coalesce(result, _parse_one(todo, fmt))
    if result is None:
        return pc.cast(
            pc.if_else(pc.is_valid(values), _NULL_STRING, _NULL_STRING), pa.timestamp("s")
        )
    return result


def parse_dates(
    values: pa.Array | pa.ChunkedArray, formats: Sequence[str]
) -> pa.Array | pa.ChunkedArray:
    """Dates (date32) from text tried against ``formats`` in order."""
    return pc.cast(parse_timestamps(values, formats), pa.date32())


def parse_booleans(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Booleans from ja/nee, j/n, 1/0, true/false, waar/onwaar (any case)."""
    lower = pc.utf8_lower(values)
    true = pc.is_in(lower, value_set=pa.array(TRUE_SPELLINGS))
    false = pc.is_in(lower, value_set=pa.array(FALSE_SPELLINGS))
    null_bool = pa.scalar(None, pa.bool_())
    return pc.if_else(true, True, pc.if_else(false, False, null_bool))


def _parse_matching(
    values: pa.Array | pa.ChunkedArray, regex: str, target: pa.DataType
) -> pa.Array | pa.ChunkedArray:
    ok = pc.match_substring_regex(values, regex)
    return pc.cast(_without_plus(pc.if_else(ok, values, _NULL_STRING)), target)


def _without_plus(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Arrow's number parsing refuses an explicit plus sign."""
    if not pc.any(pc.starts_with(values, "+")).as_py():
        return values
    return pc.replace_substring_regex(values, r"^\+", "")


def cast_text(
    values: pa.Array | pa.ChunkedArray, type_name: str, spec: CastSpec
) -> pa.Array | pa.ChunkedArray:
    """Cast cleaned text to the Arrow type of dictionary type ``type_name``."""
    if type_name in {"string", "code"}:
        return values
    if type_name == "integer":
        return _parse_matching(values, _INTEGER, pa.int64())
    if type_name == "decimal":
        ok = pc.match_substring_regex(values, _DECIMAL[spec.decimal])
        text = pc.if_else(ok, values, _NULL_STRING)
        if spec.decimal == ",":
            text = pc.replace_substring(text, ",", ".")
        return pc.cast(_without_plus(text), pa.float64())
    if type_name == "date":
        return parse_dates(values, spec.date_formats)
    if type_name == "datetime":
        return parse_timestamps(values, spec.datetime_formats)
    if type_name == "boolean":
        return parse_booleans(values)
    raise ValueError(f"unknown variable type {type_name!r}")  # the schema prevents this


def expected_text(type_name: str, spec: CastSpec) -> str:
    """How a value of this type must be written, for TypeProblem.expected and error messages."""
    if type_name == "date":
        return "date as " + " or ".join(spec.date_formats)
    if type_name == "datetime":
        return "date-time as " + " or ".join(spec.datetime_formats)
    if type_name == "decimal":
        return f"decimal number with {'comma' if spec.decimal == ',' else 'point'}"
    if type_name == "boolean":
        return "boolean (ja/nee, j/n, 1/0, true/false, waar/onwaar)"
    return type_name


def null_column(type_name: str, length: int) -> pa.Array:
    """An all-null column of the variable's type (a variable without a source)."""
    return pa.nulls(length, ARROW_TYPES[type_name])
