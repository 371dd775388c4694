"""Birth date as the eight digits YYYYMMDD, from the formats Dutch exports use.

Accepted: ``date`` objects, ISO ``1980-01-31`` (a trailing midnight time is
tolerated, other times are not), Dutch ``31-01-1980`` / ``31/01/1980`` /
``31.01.1980`` (day and month may have one digit) and compact ``19800131``
(also as an integer). Slash dates are read day first, as Dutch sources write
them. Incomplete dates (BRP "00-00-1980", FHIR "1980-01"), impossible dates,
dates before 1890 and dates in the future (after today in Amsterdam, whatever
the machine's clock zone, decision 0654) are errors: a guessed birth date
would link the wrong people.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import lru_cache

from aanlevering.periods import run_day
from aanlevering.pseudonym.normalise.failures import (
    DATE_FORMAT,
    DATE_FUTURE,
    DATE_HAS_TIME,
    DATE_IMPOSSIBLE,
    DATE_INCOMPLETE,
    DATE_TOO_EARLY,
    MISSING,
    FieldInvalid,
)

EARLIEST_YEAR = 1890

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?")
_DUTCH = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_PARTIAL = re.compile(r"\d{4}(?:-\d{2})?")
_MIDNIGHT = re.compile(r"00:00(?::00(?:\.0+)?)?")


def _check(year: int, month: int, day: int) -> str:
    if month == 0 or day == 0:
        raise FieldInvalid(DATE_INCOMPLETE) from None
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise FieldInvalid(DATE_IMPOSSIBLE) from None
    return _check_range(parsed)


def _check_range(parsed: date) -> str:
    if parsed.year < EARLIEST_YEAR:
        raise FieldInvalid(DATE_TOO_EARLY) from None
    # Amsterdam's day, not the machine's (0654): at 00:30 in Amsterdam a UTC clock says yesterday.
    if parsed > run_day():
        raise FieldInvalid(DATE_FUTURE) from None
    return f"{parsed.year:04d}{parsed.month:02d}{parsed.day:02d}"


def _from_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise FieldInvalid(MISSING) from None
    if match := _ISO.fullmatch(text):
        if match[4] is not None and not _MIDNIGHT.fullmatch(match[4]):
            raise FieldInvalid(DATE_HAS_TIME) from None
        return _check(int(match[1]), int(match[2]), int(match[3]))
    if match := _DUTCH.fullmatch(text):
        return _check(int(match[4]), int(match[3]), int(match[1]))
    if match := _COMPACT.fullmatch(text):
        return _check(int(match[1]), int(match[2]), int(match[3]))
    if _PARTIAL.fullmatch(text):
        raise FieldInvalid(DATE_INCOMPLETE) from None
    raise FieldInvalid(DATE_FORMAT) from None


@lru_cache(maxsize=1 << 16, typed=True)
def normalise_birth_date(value: object) -> str:
    """Birth date as ``YYYYMMDD``; raises :class:`FieldInvalid` (no value in the reason).

    Cached: a batch holds few distinct birth dates. Only successes are cached,
    and a date that is valid today stays valid.
    """
    if value is None:
        raise FieldInvalid(MISSING)
    if isinstance(value, datetime):
        if value.time() != time(0, 0):
            raise FieldInvalid(DATE_HAS_TIME)
        return _check_range(value.date())
    if isinstance(value, date):
        return _check_range(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_text(str(value))
    if isinstance(value, str):
        return _from_text(value)
    raise FieldInvalid(DATE_FORMAT)
