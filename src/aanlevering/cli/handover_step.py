"""The shared frame of ``confirm-upload`` and ``abandon-handover``: record one hand-over step.

Why: both commands record one event about an outbox version, and both must
do it the same careful way: only in this hospital's event log (decisions
0452, 0883), never beside a run of the period (0901) while waiting as long
as the operator said (0961), and with the version's hospital report
rewritten before the lock is let go. Kept in one place so the two cannot
drift apart; each command says only what it records and what it prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from aanlevering.cli.catalogue_option import settings_for
from aanlevering.periods import Period

if TYPE_CHECKING:
    from pathlib import Path

    from aanlevering.deliver.ledger import LedgerEntry
    from aanlevering.events.store import EventStore

RecordStep = Callable[["EventStore", str, str, str], "LedgerEntry"]
"""Records the step: (store, provider, registration, period label) → the entry after it."""


def record_handover_step(
    args: argparse.Namespace, command: str, record: RecordStep
) -> tuple[LedgerEntry, Path | None]:
    """Record ``record``'s step under the period's lock; the entry after it and its report.

    ``args`` carries ``--registration``, ``--period``, ``--wait`` and the
    catalogue options; ``command`` names the lock holder in a run's refusal.
    """
    from aanlevering.events.factory import open_event_store
    from aanlevering.pipeline.handoff_report import report_handoff
    from aanlevering.pipeline.handover_lock import period_held
    from aanlevering.pseudonym.key_continuity import check_one_provider

    settings = settings_for(args)
    period = Period.parse(args.period)
    with open_event_store(settings.event_store_url) as store:
        check_one_provider(store, settings.provider_id)  # another hospital's log (0452, 0883)
        # Never beside a run of the period: its read, its report (decision 0901).
        with period_held(
            store,
            settings.provider_id,
            args.registration,
            period.label,
            command,
            wait_seconds=args.wait,  # an Airflow run holds the period for hours (0961)
            staging_dir=settings.staging_dir,
        ):
            entry = record(store, settings.provider_id, args.registration, period.label)
            report = report_handoff(settings, entry)
    return entry, report
