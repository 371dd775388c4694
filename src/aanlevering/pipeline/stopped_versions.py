"""Versions sent without a receipt that the register then stopped: say they may be held.

A version whose send attempts all went unanswered stays ``failed`` and the
hourly retry sends it again under its key. When the register stops delivery
before that retry (a negative decision, an obligation that ended), nothing
ever sends it again, yet the registry holder may hold it: the attempt may
have been stored and only its answer lost. Decision 0752 named such a version
only when a guard stopped it mid-send (``aborted``); this module stops the
period's ``failed`` versions when a run of the period is refused by the
register, and rewrites their hospital report to say so (decision 0791).
It does so holding the period's run lock (decision 0930): a run of the period
(started before the stop, or after a later including decision) may be sending
that version again, and an abort read before its receipt and recorded after it
rewrote the report of a delivered version as "aborted, retract it".
The register is asked what the refused run asked it: on the run's own day and,
when later, on the real day (decision 0960), not on the real day alone.
Counts, keys and fixed texts only.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date

from aanlevering.actor import current_actor
from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.deliver.accounting import Accounting
from aanlevering.deliver.events import DeliveryAborted, delivery_stream
from aanlevering.deliver.ledger import LedgerEntry, load_period_ledger
from aanlevering.events.store import EventStore
from aanlevering.obligation.permission import Decision, register_refusal
from aanlevering.obligation.run_outcomes import REGISTER_STOP_OUTCOME
from aanlevering.obligation.status import load_status
from aanlevering.periods import Period, run_day
from aanlevering.pipeline.handover_lock import acquire_for_command
from aanlevering.pipeline.lock import LockScope, RunLocked, release
from aanlevering.settings import Settings
from aanlevering.validate.hospital_report import HOSPITAL_REPORT, add_sections

log = logging.getLogger(__name__)


def may_be_at_holder(attempts: int, key: str, registration: str, period: str) -> str:
    """What to do about a version sent ``attempts`` times without a receipt, then stopped.

    One wording for the hospital report of a run stopped mid-send (0752) and of
    a version the register stopped later (0791): ask, and retract if it is held.
    """
    return (
        f"sent {attempts} time(s) without a receipt, then stopped: it may have arrived at "
        f"the registry holder. Ask it whether it holds {key}; if it does, withdraw it with "
        f"`aanlevering retract --registration {registration} --period {period} --reason ...`"
    )


def stop_sent_versions(
    config: RegistrationConfig,
    settings: Settings,
    store: EventStore,
    period: Period,
    today: date,
) -> list[LedgerEntry]:
    """Record ``DeliveryAborted`` for the period's sent, unreceipted deliveries; the stopped.

    Only when the register refuses a run of ``today`` (the refused run's own
    day) as the run's check does: on ``today`` or, when later, on the real day
    (:func:`~aanlevering.obligation.permission.register_refusal`, decision
    0960). A run refused for another reason (the period still open, a stale
    register feed) leaves them to the retry. Only deliveries: a
    retraction is always allowed and is retried as it is. Each stopped
    version's hospital report (when it is still there) gets the "may have
    arrived" section of 0752 with the retract command. Holds the period's run
    lock while it reads, appends and rewrites (0930); when a run keeps the
    period longer than ``AANLEVERING_RUN_LOCK_WAIT`` nothing is stopped.
    """
    if _refusal(config, store, today) is None:
        return []
    scope = LockScope(settings.provider_id, config.id, period.label)
    run_id = f"{REGISTER_STOP_OUTCOME}-{uuid.uuid4()}"
    try:
        acquire_for_command(store, scope, run_id)
    except RunLocked:
        log.warning(
            "%s %s: a run of the period holds it; its versions sent without a receipt are "
            "left to that run (the next refused run or retry stops what is still unreceipted)",
            config.id,
            period.label,
        )
        return []
    try:
        return _stop(config, settings, store, period, today)
    finally:
        release(store, scope, run_id, REGISTER_STOP_OUTCOME)


def _refusal(config: RegistrationConfig, store: EventStore, today: date) -> Decision | None:
    """The register's refusal of a run of ``today``, asked now (None: it allows)."""
    return register_refusal(config, load_status(store, config.id), today, run_day())


def _stop(
    config: RegistrationConfig, settings: Settings, store: EventStore, period: Period, today: date
) -> list[LedgerEntry]:
    """The stop itself, with the period's run lock held: permission and ledger read again."""
    permission = _refusal(config, store, today)
    if permission is None:  # included again while waiting for a run of the period
        return []
    ledger = load_period_ledger(store, config.id, period.label)
    stopped = [
        entry
        for entry in ledger.versions(config.id, period.label)
        if entry.status == "failed" and entry.attempts and entry.kind == "delivery"
    ]
    if not stopped:
        return []
    store.append(
        delivery_stream(config.id, period.label),
        [
            DeliveryAborted(
                registration=config.id,
                period=period.label,
                idempotency_key=entry.idempotency_key,
                reason=f"stopped by the register after it was sent: {permission.reason}"[:1000],
                provider=settings.provider_id,
                actor=current_actor(),
            )
            for entry in stopped
        ],
        None,
    )
    for entry in stopped:
        log.error(
            "%s was sent %d time(s) without a receipt and the register now stops it: it may "
            "have arrived at the registry holder",
            entry.idempotency_key,
            entry.attempts,
        )
        _report(settings, entry)
    return stopped


def _report(settings: Settings, entry: LedgerEntry) -> None:
    """The version's hospital report says it was stopped and may be held (if it is there)."""
    folder = settings.reports_dir / entry.registration / entry.period / f"v{entry.version}"
    if not (folder / HOSPITAL_REPORT).is_file():
        return
    sections: dict[str, object] = {
        "delivery": {
            "status": "aborted",
            "idempotency_key": entry.idempotency_key,
            "attempts": entry.attempts,
            "what_to_do": may_be_at_holder(
                entry.attempts, entry.idempotency_key, entry.registration, entry.period
            ),
        }
    }
    if entry.accounting:
        accounting = Accounting.from_summary(entry.accounting).as_version_status("aborted")
        sections["accounting"] = accounting.as_summary()
    add_sections(folder, sections)
