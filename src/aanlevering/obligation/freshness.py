"""A run delivers only with register decisions read from the feed recently (decision 0643).

Why: whether a registration may be delivered to is a projection of the
decisions the log holds. When the ingest-register-decisions DAG has failed
for days (the feed moved, its credentials expired), or the event log was
restored from a backup taken before a negative decision was ingested, the
log silently lacks that decision and runs delivered to a registration with
no legal basis. So when ``AANLEVERING_REGISTER_FEED`` names the feed, every
obligation check asks when the feed was last read (``RegisterFeedRead``,
recorded by ``aanlevering register ingest``) and a run stops before anything
leaves the hospital when that was longer ago than
``AANLEVERING_REGISTER_MAX_AGE_HOURS`` (default 36: a daily ingest with a
missed day's slack). Without a feed (decisions recorded by hand with
``register decide``), or before the feed was ever read, nothing is required.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from aanlevering.errors import AanleveringError
from aanlevering.events.store import EventStore
from aanlevering.obligation.events import FEED_READS_STREAM, RegisterFeedRead
from aanlevering.settings import whole_number_setting

FEED_SETTING = "AANLEVERING_REGISTER_FEED"
MAX_AGE_SETTING = "AANLEVERING_REGISTER_MAX_AGE_HOURS"
DEFAULT_MAX_AGE_HOURS = 36


class RegisterStale(AanleveringError):
    """The register decisions were not read from the feed recently enough; the run stops."""

    exit_code = 2


def record_feed_read(store: EventStore, decisions: int) -> None:
    """Record that the feed was read whole (``register ingest``, after its decisions)."""
    store.append(FEED_READS_STREAM, [RegisterFeedRead(decisions=decisions)], None)


def require_current_decisions(
    store: EventStore, registration: str, now: datetime | None = None
) -> None:
    """RegisterStale when the configured feed was last read longer ago than the limit."""
    if not os.environ.get(FEED_SETTING, "").strip():
        return
    last = store.last_of_type(RegisterFeedRead.event_type)
    if last is None:
        return  # never read into this log: nothing to compare (see the module docstring)
    limit = timedelta(hours=whole_number_setting(MAX_AGE_SETTING, DEFAULT_MAX_AGE_HOURS, 1))
    age = (now or datetime.now(UTC)) - last.occurred_at
    if age > limit:
        hours = age.total_seconds() / 3600
        raise RegisterStale(
            f"registration {registration}: the register decisions were last read from the "
            f"feed ({FEED_SETTING}) at {last.occurred_at:%Y-%m-%d %H:%M} UTC, {hours:.0f} "
            f"hours ago; a run needs them read within the last {limit.total_seconds() / 3600:.0f} "
            f"hours ({MAX_AGE_SETTING}), or a negative decision may be missing (a failing "
            "ingest, or an event log restored from a backup). Run `aanlevering register "
            f"ingest ${FEED_SETTING}` (in Airflow: the ingest-register-decisions DAG) and run "
            "again; nothing of this run was sent"
        )
