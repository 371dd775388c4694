"""Calendar-aligned delivery periods (month, quarter, year).

A period is what a delivery covers: records whose reference date (the
Amsterdam calendar day, decision 0390) falls in ``[start, end)``. Labels are
what engineers type and read: ``2026``, ``2026-Q2``, ``2026-03``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from aanlevering.errors import ConfigError

Frequency = Literal["month", "quarter", "year"]

#: The clock periods are counted in: a record belongs to the Amsterdam calendar day it happened on.
TIMEZONE = "Europe/Amsterdam"


def run_day(now: datetime | None = None) -> date:
    """The day a run starts on: today in Amsterdam, whatever the machine's clock zone (0394).

    Scheduled runs start at midnight in Amsterdam, 22:00 or 23:00 UTC the day
    before: with ``date.today()`` on a machine in UTC the period that just
    closed would still be open, and the run skipped as not owed.
    """
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(TIMEZONE)).date()


_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Period:
    """A half-open date interval ``[start, end)`` with its frequency."""

    start: date
    end: date
    frequency: Frequency

    @property
    def label(self) -> str:
        """Human label: ``2026``, ``2026-Q2`` or ``2026-03``."""
        if self.frequency == "year":
            return f"{self.start.year}"
        if self.frequency == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    def __str__(self) -> str:
        return self.label

    def contains(self, day: date) -> bool:
        """Whether ``day`` falls in this period."""
        return self.start <= day < self.end

    @classmethod
    def parse(cls, label: str) -> Period:
        """Parse ``2026``, ``2026-Q1`` or ``2026-01``; ConfigError on anything else."""
        text = label.strip()
        try:
            if match := _YEAR.match(text):
                year = int(match.group(1))
                return cls(date(year, 1, 1), date(year + 1, 1, 1), "year")
            if match := _QUARTER.match(text):
                year, quarter = int(match.group(1)), int(match.group(2))
                return cls.containing(date(year, 3 * quarter - 2, 1), "quarter")
            if match := _MONTH.match(text):
                return cls.containing(date(int(match.group(1)), int(match.group(2)), 1), "month")
        except ValueError:  # year 0000, or a period ending after 9999: not on the calendar
            pass
        raise ConfigError(
            f"period {label!r} is not a year (2026), quarter (2026-Q1) or month (2026-01)"
        )

    @classmethod
    def containing(cls, day: date, frequency: Frequency) -> Period:
        """The period of ``frequency`` that contains ``day``."""
        if frequency == "year":
            return cls(date(day.year, 1, 1), date(day.year + 1, 1, 1), "year")
        months = 3 if frequency == "quarter" else 1
        first_month = (day.month - 1) // months * months + 1
        start = date(day.year, first_month, 1)
        end_month = first_month + months
        end = date(day.year + 1, 1, 1) if end_month > 12 else date(day.year, end_month, 1)
        return cls(start, end, frequency)

    def up_to(self, last_day: date) -> Period:
        """This period without the days after ``last_day``, under the same label.

        What a run of a period that has not closed covers (decision 0393): care
        dated after the run's day has not happened yet.
        """
        end = min(self.end, max(self.start, last_day + timedelta(days=1)))
        return self if end == self.end else Period(self.start, end, self.frequency)

    def next(self) -> Period:
        """The period right after this one."""
        return Period.containing(self.end, self.frequency)


def periods_between(first_day: date, until: date, frequency: Frequency) -> Iterator[Period]:
    """Every period from the one containing ``first_day`` up to, excluding, ``until``'s."""
    period = Period.containing(first_day, frequency)
    while period.start < until:
        yield period
        period = period.next()


def require_frequency(period: Period, frequency: Frequency, registration: str) -> None:
    """ConfigError unless ``period`` is one of the registration's own periods (decision 0391).

    Periods of one frequency tile the calendar, so each record is delivered in
    exactly one of them. A period of another length overlaps them: its records
    would be delivered a second time, under a ledger key nothing connects to
    the first.
    """
    if period.frequency == frequency:
        return
    own = list(periods_between(period.start, period.end, frequency))
    if len(own) == 1:
        instead = f"run {own[0]} instead (it holds the records of {period})"
    else:
        instead = f"run {', '.join(str(p) for p in own)} instead"
    raise ConfigError(
        f"registration {registration} delivers per {frequency}; period {period} is a "
        f"{period.frequency}, which overlaps the registration's own periods, so its "
        f"records could be delivered twice: {instead}"
    )
