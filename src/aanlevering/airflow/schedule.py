"""Delivery periods as Airflow data intervals, in Dutch time.

A run's data interval *is* the period it delivers (a quarter for a quarterly
registration), so a run starts right after its period closes and a backfill
from 2026-01-01 creates one run per period. The period is read back from the
data interval start, converted to Europe/Amsterdam first (midnight of 1 April
in Amsterdam is 31 March in UTC).
"""

from __future__ import annotations

from datetime import date, datetime

import pendulum

TIMEZONE = "Europe/Amsterdam"
#: 1 January 2026, the Wkz's entry into force: the first period of every DAG.
START_DATE = pendulum.datetime(2026, 1, 1, tz=TIMEZONE)

CRON_BY_FREQUENCY = {
    "month": "0 0 1 * *",
    "quarter": "0 0 1 1,4,7,10 *",
    "year": "0 0 1 1 *",
}


def cron_for(frequency: str) -> str:
    """The cron expression whose intervals are the calendar periods of ``frequency``."""
    return CRON_BY_FREQUENCY[frequency]


def period_label(data_interval_start: datetime, frequency: str) -> str:
    """The period label (``2026-Q2``) of the run whose data interval starts here."""
    local = pendulum.instance(data_interval_start).in_timezone(TIMEZONE)
    day = date(local.year, local.month, local.day)
    if frequency == "year":
        return f"{day.year}"
    if frequency == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"
