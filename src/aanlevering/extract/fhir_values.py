"""FHIR JSON values to the dictionary's types.

FHIR already types its values (``valueInteger`` is a number, ``performedDateTime``
an ISO string), so conversion is mostly checking. Choices made here:

* a ``date`` variable accepts a FHIR ``date`` or the Amsterdam date of a
  ``dateTime`` (``2026-02-03T10:15:00+01:00`` -> 3 February 2026, and
  ``2026-03-31T23:30:00Z`` -> 1 April 2026); partial dates (``2026-02``) and a
  time that does not parse (``T24:00``) are type problems;
* a ``datetime`` variable needs a time; it is kept as the Amsterdam wall-clock
  time of the instant written, so a UTC ``Z`` or any other offset is converted
  first (registries record local Dutch time, and periods are Amsterdam calendar
  periods: decision 0390); a time without an offset is taken as Dutch time;
* an ``integer`` accepts a whole number written as decimal (``55.0``), since
  ``Quantity.value`` is always a decimal;
* codes and strings take numbers and booleans as their text (``2``, ``true``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from aanlevering.periods import TIMEZONE

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+)?$")

#: TypeProblem.expected for FHIR sources.
EXPECTED: dict[str, str] = {
    "string": "text",
    "code": "a code (text)",
    "integer": "integer",
    "decimal": "decimal number",
    "date": "FHIR date or dateTime (YYYY-MM-DD...)",
    "datetime": "FHIR dateTime with a time (YYYY-MM-DDThh:mm...)",
    "boolean": "boolean (true/false)",
}

Converted = tuple[object | None, bool]

_ZONE = ZoneInfo(TIMEZONE)


def _text(value: object) -> Converted:
    if isinstance(value, bool):
        return ("true" if value else "false"), True
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else str(value)), True
    if isinstance(value, str):
        text = value.strip()
        return (text or None), True
    return None, False


def _integer(value: object) -> Converted:
    if isinstance(value, bool):
        return None, False
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.match(value.strip()):
        number = int(value.strip())
    if number is None or not _INT64_MIN <= number <= _INT64_MAX:
        return None, False  # outside a 64-bit column: a type problem, not a crash
    return number, True


def _decimal(value: object) -> Converted:
    if isinstance(value, bool):
        return None, False
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str) and _DECIMAL.match(value.strip()):
            number = float(value.strip())
        else:
            return None, False
    except OverflowError:  # an integer beyond a double's range
        return None, False
    return (number, True) if math.isfinite(number) else (None, False)


#: A dateTime whose Amsterdam date is the date written: Dutch offset (or none, which is
#: Dutch time) and a time from 01:00 to 22:59, which the at most one hour between
#: +01:00 and +02:00 cannot move across midnight.
_SAME_DAY_IN_AMSTERDAM = re.compile(
    r"^\d{4}-\d{2}-\d{2}T(?:0[1-9]|1\d|2[0-2]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?(?:\+0[12]:00)?$"
)


def _date(value: object) -> Converted:
    """The Amsterdam date of a date or dateTime (decision 0390).

    Most dateTimes in a Dutch export are written in Dutch time during the day:
    their date is read straight from the text (:data:`_SAME_DAY_IN_AMSTERDAM`,
    about 0.5 µs against 2 µs for the conversion, pinned to
    :func:`date_reference` by a test); the rest are converted.
    """
    if not isinstance(value, str) or not _DATE.match(value):
        return None, False
    if len(value) == 10 or _SAME_DAY_IN_AMSTERDAM.match(value):
        try:
            return date.fromisoformat(value[:10]), True
        except ValueError:
            return None, False
    moment, _ = _datetime(value)
    return (moment.date(), True) if isinstance(moment, datetime) else (None, False)


def date_reference(value: object) -> Converted:
    """The straightforward :func:`_date`: every dateTime converted to Amsterdam time."""
    if not isinstance(value, str) or not _DATE.match(value):
        return None, False
    if len(value) > 10:  # a dateTime: the date of its instant in Amsterdam
        moment, _ = _datetime(value)
        return (moment.date(), True) if isinstance(moment, datetime) else (None, False)
    try:
        return date.fromisoformat(value), True
    except ValueError:
        return None, False


def _datetime(value: object) -> Converted:
    if isinstance(value, str) and _DATETIME.match(value):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None, False
        if parsed.tzinfo is not None:
            try:
                parsed = parsed.astimezone(_ZONE)
            except OverflowError:
                # 9999-12-31T23:59:59Z (an "open end") is in year 10000 in Amsterdam,
                # off Python's calendar: it keeps its UTC day; off it either way, none (0655).
                try:
                    parsed = parsed.astimezone(UTC)
                except OverflowError:
                    return None, False
        return parsed.replace(tzinfo=None, microsecond=0), True
    return None, False


def _boolean(value: object) -> Converted:
    if isinstance(value, bool):
        return value, True
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true", True
    return None, False


_CONVERTERS = {
    "string": _text,
    "code": _text,
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
    "datetime": _datetime,
    "boolean": _boolean,
}


def converter(type_name: str) -> Callable[[object], Converted]:
    """The conversion :func:`convert` applies to a present value of ``type_name``.

    The streaming reader converts millions of values of a few variables: it looks the
    conversion up once per variable instead of once per value (decision 0500).
    """
    return _CONVERTERS[type_name]


def convert(value: object, type_name: str) -> Converted:
    """``(converted, ok)``; a missing value is ``(None, True)``, a mismatch ``(None, False)``."""
    if value is None:
        return None, True
    return _CONVERTERS[type_name](value)
