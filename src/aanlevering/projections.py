"""Every read model, projected from the events of its kinds and materialised as JSON.

The log is the system of record; these views (delivery ledger, compliance
calendar, register status, opt-out summary) are derived from it and can be
thrown away and rebuilt at any time (``aanlevering events rebuild``): the
same log always gives the same document, which the digest makes checkable.
The Deliveries page and ``aanlevering status`` read this document.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aanlevering.catalogue.model import Catalogue
from aanlevering.deliver.ledger import (
    LEDGER_EVENT_TYPES,
    LedgerEntry,
    abandoned_retraction_advice,
    project_ledger,
)
from aanlevering.events.model import RecordedEvent
from aanlevering.events.store import EventStore
from aanlevering.obligation.calendar import delivery_calendar
from aanlevering.obligation.events import REGISTER_EVENT_TYPES
from aanlevering.obligation.permission import may_deliver
from aanlevering.obligation.run_outcomes import RELEASED, project_run_outcomes
from aanlevering.obligation.status import RegistrationStatus, project_statuses
from aanlevering.optout.events import OPTOUT_EVENT_TYPES, OptOutRegistered
from aanlevering.optout.register import OptOutRegister
from aanlevering.periods import run_day
from aanlevering.settings import Settings

PROJECTIONS_FILE = "projections.json"


#: Every event type a read model here folds; other events (delivery contents, lock
#: renewals, validation and pseudonymisation facts) are never read (decision 0250).
PROJECTED_EVENT_TYPES = frozenset(
    {*LEDGER_EVENT_TYPES, *REGISTER_EVENT_TYPES, *OPTOUT_EVENT_TYPES, RELEASED}
)


def build_projections(store: EventStore, catalogue: Catalogue, on: date) -> dict[str, Any]:
    """All read models as one JSON-ready document (no patient data, counts only).

    Reads only the event types the models fold, through the type index, as
    the log stood at one position; the opt-out summary is a count of
    patients' streams, not a fold of every opt-out (seconds per request at
    200,000 opt-outs). The same document as a replay of the whole log up to
    that position (pinned by a test).
    """
    last = store.last_position()
    folded = PROJECTED_EVENT_TYPES - OPTOUT_EVENT_TYPES
    records = [r for r in store.read_types(folded) if r.position <= last]
    optout_patients = store.count_streams({OptOutRegistered.event_type}, up_to_position=last)
    return _document(records, last, catalogue, on, optout_patients)


def document_from_records(
    records: list[RecordedEvent], last_position: int, catalogue: Catalogue, on: date
) -> dict[str, Any]:
    """The document from events in log order (any other types among them are ignored).

    The straightforward version: it folds every opt-out event into the
    register to count its patients, where :func:`build_projections` counts
    their streams in the database (pinned equal by a test).
    """
    optout_patients = len(OptOutRegister.from_records(records))
    return _document(records, last_position, catalogue, on, optout_patients)


def _document(
    records: list[RecordedEvent],
    last_position: int,
    catalogue: Catalogue,
    on: date,
    optout_patients: int,
) -> dict[str, Any]:
    ledger = project_ledger(records)
    statuses = project_statuses(records)
    outcomes = project_run_outcomes(records)
    registrations: dict[str, Any] = {}
    for config in catalogue:
        status = statuses.get(config.id)
        calendar = delivery_calendar(config, status, ledger, on)
        permission = may_deliver(config, status, on)
        change = status.change_on(on) if status is not None else None
        registrations[config.id] = {
            "name": config.name,
            "registry_holder": config.registry_holder_name,
            "frequency": config.frequency,
            "format": config.delivery.format,
            "channel": config.delivery.channel,
            "register_state": change.state.value if change is not None else "pending",
            "may_deliver": permission.allowed,
            "reason": permission.reason,
            "yearly_check": {"flagged": calendar.yearly.flagged, "reason": calendar.yearly.reason},
            "periods": [
                {
                    "period": entry.period.label,
                    "state": entry.state.value,
                    "owed": entry.owed,
                    "due_by": entry.due_by.isoformat() if entry.due_by else None,
                    "reason": entry.reason,
                    "last_run": outcomes.outcome(config.id, entry.period.label),
                }
                for entry in calendar.entries
            ],
        }
    latest: dict[tuple[str, str], Any] = {}
    for entry in sorted(ledger.rows(), key=lambda e: e.version):
        if entry.status == "receipted":
            latest[(entry.registration, entry.period)] = entry
    held = {e.idempotency_key for e in latest.values() if e.kind == "delivery"}  # holder keeps
    refused = {  # registration -> why the register no longer allows delivery (decision 0791)
        config.id: view["reason"]
        for config in catalogue
        if not (view := registrations[config.id])["may_deliver"]
    }
    return {
        "as_of": on.isoformat(),
        "last_position": last_position,
        "deliveries": [
            _with_basis(
                _as_received(entry, refused.get(entry.registration)),
                catalogue,
                statuses,
                on,
                held=entry.idempotency_key in held,
            )
            for entry in ledger.rows()
        ],
        "registrations": registrations,
        "optouts": {"patients": optout_patients},
    }


#: The records of a version the registry holder holds with content this log does not know:
#: the run's own counts are the next version's (0380), so none are shown (decision 0972).
TAKEN_RECORDS = "unknown: held with content this log does not know"


def _as_received(entry: LedgerEntry, refused: str | None = None) -> dict[str, Any]:
    """The ledger row; its accounting says delivered only of a receipted version (0751).

    Why: a version's accounting is recorded when it is staged, its records as
    ``delivered``; ``aanlevering status`` and the Deliveries page showed
    "delivered N" under a version the registry holder refused or never
    receipted. The row's ``accounting`` counts them as ``refused``,
    ``unreceipted`` or (aborted) ``blocked`` instead. ``refused``: why the
    register no longer allows its registration to deliver (None: it does).
    """
    row = asdict(entry)
    if entry.status == "aborted" and entry.attempts:
        # Sent, then stopped by a guard (a register decision, an opt-out): the registry
        # holder may hold it without this log knowing (decision 0752).
        row["sent_without_receipt"] = (
            f"sent {entry.attempts} time(s) without a receipt, then stopped: it may have "
            "arrived at the registry holder"
        )
    elif entry.status == "failed" and entry.attempts and entry.kind == "delivery" and refused:
        # Sent, no receipt, and the register stopped it before a retry could (decision
        # 0791): no retry will send it again, and the holder may hold it.
        row["sent_without_receipt"] = (
            f"sent {entry.attempts} time(s) without a receipt, then stopped by the register "
            f"({refused}): it may have arrived at the registry holder"
        )
    if entry.status == "receipted" and entry.awaiting_upload:
        # The outbox's own receipt: the files wait in a folder for a manual upload (0794).
        row["not_confirmed"] = (
            f"placed in {entry.receiver or 'the outbox'} on {(entry.received_at or '')[:10]}; "
            "not confirmed by the registry holder, so "
            + (
                f"{entry.supersedes or 'the version before it'} is not withdrawn yet"
                if entry.kind == "retraction"  # a retraction waiting withdrew nothing (0900)
                else "not delivered"
            )
            + ": upload it, then "
            f"`aanlevering confirm-upload --registration {entry.registration} "
            f"--period {entry.period} --version {entry.version}`"
        )
    if entry.taken and entry.status == "receipted":
        # Held by the receiver with content this log never had (0380): no delivery (0841).
        row["other_content"] = (
            f"the registry holder holds v{entry.version} with content this log does not know "
            f"(an earlier run; receipt {entry.receipt_id or 'unnamed'}): not counted as "
            "delivered; the period's next version replaces it"
        )
    if entry.receipt_mismatch and entry.status == "rejected":
        # The receipt check refused the answer, not the holder the version (decision 0842).
        row["receipt_mismatch"] = receipt_mismatch_note(entry)
    if entry.status == "abandoned":
        # Given up unconfirmed (0843): never delivered; an upload nobody recorded may be there.
        placed = (
            f"placed in {entry.receiver or 'the outbox'} on {(entry.received_at or '')[:10]}, "
            f"never confirmed; abandoned on {entry.abandoned_on} ({entry.last_error})"
        )
        row["abandoned"] = (
            # A retraction given up withdrew nothing: retract again, never run (0884, 0900).
            f"retraction {placed}: "
            + abandoned_retraction_advice(entry.registration, entry.period, entry.supersedes)
            if entry.kind == "retraction"
            else f"{placed}: not delivered. If its files were uploaded after all, the registry "
            "holder may hold them until the period's next version replaces them"
        )
    if entry.accounting:
        # An unconfirmed outbox hand-off awaits the holder's receipt as a staged version does.
        row["accounting"] = entry.shown_accounting().as_summary()
    return row


def receipt_mismatch_note(entry: LedgerEntry) -> str:
    """What happened to a version whose receipt did not match, and what to do (0842).

    Why: shown as "refused by the registry holder", the engineer corrected data
    that was never refused, while the holder, which answered with a receipt,
    may hold the version. The check's own text says what was expected and got
    (ids, a digest's first digits, record counts; no patient data).
    """
    return (
        f"receipt did not match what was sent ({entry.last_error or 'no detail recorded'}); "
        "the registry holder answered with a receipt, so it may hold this version: ask the "
        f"registry holder what it holds under {entry.idempotency_key}, then run the period "
        f"again (`aanlevering run --registration {entry.registration} --period "
        f"{entry.period} ...`): the same content goes out under the same key, or as the "
        "next version when the holder keeps other content under this one"
    )


def _with_basis(
    row: dict[str, Any],
    catalogue: Catalogue,
    statuses: dict[str, RegistrationStatus],
    on: date,
    *,
    held: bool,
) -> dict[str, Any]:
    """The ledger row, with ``without_legal_basis`` when the register did not allow it (0644).

    Why: a negative decision (or the end of a term) can reach the log after a
    delivery it applies to (a feed ingested late); the registry holder then
    holds data without a legal basis and only a retraction withdraws it. A
    receipted delivery whose receipt day (in Amsterdam) the register, as it
    reads on ``on``, did not allow says why, when it is what the registry holder
    keeps of its period (``held``: not retracted nor superseded since); other
    rows are unchanged.
    """
    received = row.get("received_at")
    if not held or not received:
        return row
    day = run_day(datetime.fromisoformat(str(received)))
    config = next((c for c in catalogue if c.id == row.get("registration")), None)
    if config is None or day > on:
        return row
    permission = may_deliver(config, statuses.get(config.id), day)
    if permission.allowed:
        return row
    return {
        **row,
        "without_legal_basis": f"received {day} without a legal basis: {permission.reason}",
    }


def may_have_arrived(entry: dict[str, Any]) -> str:
    """What to do about a version sent without a receipt and then stopped (decision 0752).

    Why: such a version is ``aborted`` in the ledger, yet the registry holder
    may hold it (its receipt lost on the way back) with no legal basis left.
    """
    registration, period = entry["registration"], entry["period"]
    return (
        f"{entry['sent_without_receipt']}: ask the registry holder whether it holds "
        f"{entry['idempotency_key']}; if it does, withdraw it with `aanlevering retract "
        f"--registration {registration} --period {period} --reason ...`"
    )


def digest(document: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a projection document."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_projections(settings: Settings, document: dict[str, Any]) -> Path:
    """Materialise the document atomically under ``$AANLEVERING_HOME``."""
    path = settings.home / PROJECTIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True, default=str), "utf-8")
    temporary.replace(path)
    return path
