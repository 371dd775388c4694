"""A run delivers only with an opt-out register ingested from a recent export (decision 0475).

Why: the register holds what the last ingests read. When the ingest DAG has
failed for weeks, or an event-log restore lost the opt-outs ingested after
the backup, the register silently lacks objections, and a run delivered the
patients who made them. So every check of the opt-outs first asks when the
newest ingested export was taken, and a run stops, before the TTP or the
registry holder sees anything, when that was longer ago than
``AANLEVERING_OPTOUT_MAX_AGE_HOURS`` (default 36: a daily ingest with a
missed day's slack). The age is measured against the clock now, not the
period: an objection applies to every later delivery, also a backfill of an
old period. Periods that end on or before the rules' ``effective_from`` are
never filtered, so they need no register.

When ``AANLEVERING_OPTOUT_SOURCE`` names the export the ingest DAG reads, a
run also stops when that export is newer than the newest one ingested
(decision 0478): after a restore of the event log from a recent backup the
age alone does not show that the opt-outs ingested since are gone.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aanlevering.errors import AanleveringError, ConfigError
from aanlevering.events.store import EventStore
from aanlevering.optout.ingests import newest_snapshot, snapshot_time_of
from aanlevering.optout.rules import OptOutRules
from aanlevering.periods import Period
from aanlevering.settings import whole_number_setting

MAX_AGE_SETTING = "AANLEVERING_OPTOUT_MAX_AGE_HOURS"
DEFAULT_MAX_AGE_HOURS = 36
SOURCE_SETTING = "AANLEVERING_OPTOUT_SOURCE"
#: How much newer the export on disk may be than the newest ingested (a copy's time stamp).
WAITING_SLACK = timedelta(minutes=1)

_WHAT_TO_RUN = (
    "Run `aanlevering optout ingest <the EHR's current opt-out export>` (in Airflow: the "
    "ingest-optouts DAG) and run the period again; nothing of this run was sent"
)


class OptOutRegisterStale(AanleveringError):
    """The opt-out register was not ingested from a recent enough export; the run stops."""

    exit_code = 2


def max_age() -> timedelta:
    """How old the newest ingested export may be (``AANLEVERING_OPTOUT_MAX_AGE_HOURS``)."""
    return timedelta(hours=whole_number_setting(MAX_AGE_SETTING, DEFAULT_MAX_AGE_HOURS, 1))


def require_current_register(
    store: EventStore,
    rules: OptOutRules,
    registration: str,
    period: Period,
    now: datetime | None = None,
) -> None:
    """OptOutRegisterStale unless an export taken within :func:`max_age` was ingested."""
    if period.end <= rules.effective_from:
        return  # nothing of the period can be filtered: the register does not matter
    now = now or datetime.now(UTC)
    limit = max_age()
    newest = newest_snapshot(store)
    where = f"registration {registration}, period {period.label}"
    if newest is None:
        raise OptOutRegisterStale(
            f"{where}: no opt-out export was ever ingested into this event log (or its "
            "ingests were lost, e.g. in a restore), so patients who objected cannot be left "
            f"out. {_WHAT_TO_RUN}"
        )
    age = now - newest.taken_at
    if age > limit:
        raise OptOutRegisterStale(
            f"{where}: the newest opt-out export in the register was taken "
            f"{newest.taken_at:%Y-%m-%d %H:%M} UTC (ingested {newest.recorded_at:%Y-%m-%d %H:%M} "
            f"UTC), {_hours(age)} ago; a run needs one taken within the last {_hours(limit)} "
            f"({MAX_AGE_SETTING}). {_WHAT_TO_RUN}"
        )
    waiting = _configured_export_time()
    if waiting is not None and waiting > newest.taken_at + WAITING_SLACK:
        raise OptOutRegisterStale(
            f"{where}: the opt-out export in {SOURCE_SETTING} was taken "
            f"{waiting:%Y-%m-%d %H:%M} UTC, later than the newest one in the register "
            f"({newest.taken_at:%Y-%m-%d %H:%M} UTC): it was never ingested, or its ingest was "
            f"lost (e.g. in a restore of the event log). {_WHAT_TO_RUN}"
        )


def _configured_export_time() -> datetime | None:
    """When the export the ingest DAG reads was taken; None when none is configured or there."""
    configured = os.environ.get(SOURCE_SETTING, "").strip()
    path = Path(configured) if configured else None
    if path is None or not path.exists():
        return None
    try:
        return snapshot_time_of(path)
    except ConfigError:
        return None  # an empty folder: nothing waiting (the ingest itself says what is wrong)


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours >= 2 else f"{span.total_seconds() / 60:.0f} minutes"
