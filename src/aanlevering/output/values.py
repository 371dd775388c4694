"""Typed dictionary values as delivery text, a whole column at a time.

Delivery files hold millions of values, so formatting runs column-wise in
Arrow instead of value by value in Python. Two styles share the rules:

- FHIR: JSON literals ready to splice into a resource (strings quoted and
  escaped, dates ISO, date-times with the UTC offset FHIR requires, decimals
  without exponent, integers within FHIR's 32-bit range).
- CSV: plain text (dates in the variable's declared format, ISO otherwise;
  decimal point or comma as configured; booleans ``true``/``false``).

Empty strings become null: FHIR forbids empty values, and an empty CSV field
already means "no value". A value that cannot be written raises
:class:`ValueProblem` with its row index, never the value.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import Variable

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
_OFFSET = r"([+-][0-9]{2})([0-9]{2})$"


class ValueProblem(Exception):
    """Value at row ``index`` (-1: the whole column) is not ``expected``."""

    def __init__(self, index: int, expected: str) -> None:
        super().__init__(f"row index {index}: expected {expected}")
        self.index = index
        self.expected = expected


def fhir_text(array: pa.Array | pa.ChunkedArray, variable: Variable, timezone: str) -> pa.Array:
    """JSON literal text of each value for a FHIR answer (null stays null)."""
    values = _flat(array)
    kind = variable.type
    if kind in ("string", "code"):
        return _json_strings(_strings(values))
    if kind == "integer":
        return _integers(values, limit32=True)
    if kind == "decimal":
        return _decimals(values, ".")
    if kind == "boolean":
        return _booleans(values)
    if kind == "date":
        return _quoted(_dates(values, None))
    if kind == "datetime":
        return _quoted(_fhir_datetimes(values, timezone))
    raise ValueProblem(-1, f"a known variable type, not {kind}")


def csv_text(array: pa.Array | pa.ChunkedArray, variable: Variable, decimal: str) -> pa.Array:
    """Plain text of each value for a CSV field (null stays null)."""
    values = _flat(array)
    kind = variable.type
    if kind in ("string", "code"):
        return _strings(values)
    if kind == "integer":
        return _integers(values, limit32=False)
    if kind == "decimal":
        return _decimals(values, decimal)
    if kind == "boolean":
        return _booleans(values)
    if kind == "date":
        return _dates(values, variable.format)
    if kind == "datetime":
        return _csv_datetimes(values, variable.format)
    raise ValueProblem(-1, f"a known variable type, not {kind}")


def _flat(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    return array


def _cast(values: pa.Array, target: pa.DataType, expected: str) -> pa.Array:
    if values.type == target:
        return values
    try:
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ValueProblem(-1, f"{expected} (column has Arrow type {values.type})") from None


def _first(mask: pa.Array) -> int:
    return int(pc.indices_nonzero(pc.fill_null(mask, False))[0].as_py())


def _strings(values: pa.Array) -> pa.Array:
    text = _cast(values, pa.string(), "text")
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


#: Text JSON carries as it is (``encode_basestring`` escapes only quotes, backslashes and
#: control characters; non-ASCII stays as it is).
_UNESCAPED = r'^[^"\\\x00-\x1f]*$'


def _json_strings(text: pa.Array) -> pa.Array:
    """``encode_basestring`` of each value: quoted in Arrow, escaped in Python only where needed.

    Pinned to ``encode_basestring`` value by value by tests.
    """
    plain = pc.fill_null(pc.match_substring_regex(text, _UNESCAPED), True)
    quoted = pc.binary_join_element_wise('"', text, '"', "")
    if pc.all(plain).as_py():
        return quoted
    escaped = pa.array(
        [
            None if item is None or ok else encode_basestring(item)
            for item, ok in zip(text.to_pylist(), plain.to_pylist(), strict=True)
        ],
        pa.string(),
    )
    return pc.if_else(plain, quoted, escaped)


def _quoted(text: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', text, '"', "")


def _integers(values: pa.Array, *, limit32: bool) -> pa.Array:
    numbers = _cast(values, pa.int64(), "an integer")
    if limit32 and numbers.null_count < len(numbers):
        out_of_range = pc.or_(pc.less(numbers, INT32_MIN), pc.greater(numbers, INT32_MAX))
        if pc.any(out_of_range).as_py():
            raise ValueProblem(_first(out_of_range), "an integer within -2^31..2^31-1")
    return pc.cast(numbers, pa.string())


def _decimals(values: pa.Array, separator: str) -> pa.Array:
    numbers = _cast(values, pa.float64(), "a decimal number")
    if numbers.null_count < len(numbers):
        not_finite = pc.invert(pc.is_finite(numbers))
        if pc.any(not_finite).as_py():
            raise ValueProblem(_first(not_finite), "a finite decimal number")
    text = pc.cast(numbers, pa.string())
    if pc.any(pc.match_substring(text, "e")).as_py():
        # Rare: very large or small values; write them without exponent.
        text = pa.array(
            [None if item is None else format(Decimal(item), "f") for item in text.to_pylist()],
            pa.string(),
        )
    if separator != ".":
        text = pc.replace_substring(text, ".", separator)
    return text


def _booleans(values: pa.Array) -> pa.Array:
    return pc.cast(_cast(values, pa.bool_(), "true or false"), pa.string())


def _dates(values: pa.Array, fmt: str | None) -> pa.Array:
    days = _cast(values, pa.date32(), "a date")
    if fmt is None or fmt == "%Y-%m-%d":
        return pc.cast(days, pa.string())
    return pc.strftime(pc.cast(days, pa.timestamp("s")), fmt)


def _naive_seconds(values: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(values.type):
        return values
    return _cast(values, pa.timestamp("s"), "a date-time")


def _csv_datetimes(values: pa.Array, fmt: str | None) -> pa.Array:
    stamps = _naive_seconds(values)
    return pc.strftime(stamps, fmt or "%Y-%m-%dT%H:%M:%S")


def _fhir_datetimes(values: pa.Array, timezone: str) -> pa.Array:
    stamps = _naive_seconds(values)
    if stamps.type.tz is None:
        try:
            stamps = pc.assume_timezone(stamps, timezone, ambiguous="earliest", nonexistent="raise")
        except pa.ArrowInvalid:
            # A wall time inside a daylight-saving gap: Python's rule (keep
            # the wall time, take the offset before the change) is exact.
            return _python_datetimes(stamps, timezone)
    text = pc.strftime(stamps, "%Y-%m-%dT%H:%M:%S%z")
    return pc.replace_substring_regex(text, _OFFSET, r"\1:\2")


def _python_datetimes(stamps: pa.Array, timezone: str) -> pa.Array:
    zone = ZoneInfo(timezone)
    items: list[str | None] = []
    for value in stamps.to_pylist():
        if value is None:
            items.append(None)
        elif isinstance(value, datetime):
            items.append(value.replace(tzinfo=zone).isoformat())
        else:  # pragma: no cover - Arrow gives datetimes for timestamp("s")
            raise ValueProblem(len(items), "a date-time")
    return pa.array(items, pa.string())


#: First characters a spreadsheet reads as the start of a formula (OWASP, CSV injection).
FORMULA_STARTS = "=+-@\t\r"
_FORMULA = r"^[=+\-@\t\r]"


def neutralise_formulas(text: pa.Array, keep: frozenset[str] = frozenset()) -> pa.Array:
    """CSV text with a ``'`` before values a spreadsheet would run as a formula.

    Registry holders open deliveries in spreadsheets; an EHR value such as
    ``=HYPERLINK(...)`` or ``@SUM(...)`` would run there. OWASP's advice: put
    a single quote before any field that starts with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return (the CSV writer quotes the field when
    needed). ``keep``: values left as they are (codes of the variable's
    option set, which the registry holder defined itself).
    """
    risky = pc.fill_null(pc.match_substring_regex(text, _FORMULA), False)
    if keep:
        risky = pc.and_(risky, pc.invert(pc.is_in(text, value_set=pa.array(sorted(keep)))))
    if not pc.any(risky).as_py():
        return text
    return pc.if_else(risky, pc.binary_join_element_wise("'", text, ""), text)
