"""Confirm that the registry holder received a version an outbox receipted (0794), or give it up.

Why a fact of its own: the outbox's receipt proves only that the files were
placed whole for a manual upload. The calendar counts the version as
delivered from the day the hospital records here that the registry holder
has it; nothing else in the ledger changes (retries, retractions and later
versions treat it as before). A hand-over that will not be uploaded (the
registration now delivers over HTTPS) is abandoned instead: its content goes
out as the next version (decision 0843).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from aanlevering.actor import current_actor
from aanlevering.deliver.events import HandOffAbandoned, HandOffConfirmed, delivery_stream
from aanlevering.deliver.ledger import LedgerEntry, load_period_ledger
from aanlevering.errors import ConcurrencyConflict, ConfigError
from aanlevering.events.store import EventStore
from aanlevering.operator_text import checked_operator_text
from aanlevering.periods import run_day


def confirm_upload(
    store: EventStore,
    provider: str,
    registration: str,
    period: str,
    version: int,
    *,
    received_on: date,
) -> LedgerEntry:
    """Record ``HandOffConfirmed`` for an outbox version not confirmed yet; the entry after it.

    ConfigError (nothing recorded) when the version is unknown, is not
    receipted by an outbox, is confirmed already, or ``received_on`` lies
    after today or before it was placed.
    """
    entry, read_at = _version(store, registration, period, version)
    where = f"registration {registration}, period {period}, v{version}"
    if entry.status == "abandoned":
        raise ConfigError(
            f"{where}: the hand-over was abandoned on {entry.abandoned_on}; it is never "
            "confirmed: the period goes out as its next version; nothing recorded"
        )
    if entry.status != "receipted" or not entry.handed_over:
        raise ConfigError(
            f"{where}: not a version placed in an outbox (status {entry.status}, "
            f"receipt from {entry.receiver or 'none'}); only an outbox's version is confirmed "
            "by hand; nothing recorded"
        )
    if entry.confirmed_on:
        raise ConfigError(f"{where}: confirmed already (received {entry.confirmed_on})")
    placed = date.fromisoformat((entry.received_at or "")[:10] or received_on.isoformat())
    if received_on > run_day() or received_on < placed:
        raise ConfigError(
            f"{where}: received on {received_on} is not between the day it was placed "
            f"({placed}) and today; nothing recorded"
        )
    confirmed = HandOffConfirmed(
        registration=registration,
        period=period,
        version=version,
        idempotency_key=entry.idempotency_key,
        received_on=received_on.isoformat(),
        provider=provider,
        actor=current_actor(),
    )
    _append(store, where, confirmed, read_at)
    return replace(entry, confirmed_on=received_on.isoformat())


def abandon_handover(
    store: EventStore, provider: str, registration: str, period: str, version: int, *, reason: str
) -> LedgerEntry:
    """Record ``HandOffAbandoned`` for an outbox version never confirmed; the entry after it.

    Why: a registration switched to HTTPS (or whose outbox was removed) kept
    stopping at ``already-handed-over``; once abandoned, a run delivers the
    same content as the next version over the registration's channel (0843).
    ConfigError (nothing recorded) unless the version is an outbox's,
    unconfirmed and not abandoned already, and ``reason`` says why.
    """
    entry, read_at = _version(store, registration, period, version)
    where = f"registration {registration}, period {period}, v{version}"
    try:  # no patient data into the event log (decision 0882)
        reason = checked_operator_text(reason, "--reason")
    except ConfigError as refused:
        raise ConfigError(f"{where}: {refused}") from None
    if entry.status == "abandoned":
        raise ConfigError(f"{where}: abandoned already (on {entry.abandoned_on})")
    if not entry.awaiting_upload:
        raise ConfigError(
            f"{where}: not an unconfirmed outbox hand-over (status {entry.status}, receipt "
            f"from {entry.receiver or 'none'}"
            + (f", upload confirmed on {entry.confirmed_on}" if entry.confirmed_on else "")
            + "); only such a version is abandoned; nothing recorded"
        )
    abandoned = HandOffAbandoned(
        registration=registration,
        period=period,
        version=version,
        idempotency_key=entry.idempotency_key,
        reason=reason,
        provider=provider,
        actor=current_actor(),
    )
    _append(store, where, abandoned, read_at)
    return replace(entry, status="abandoned", abandoned_on=run_day().isoformat())


def _version(
    store: EventStore, registration: str, period: str, version: int
) -> tuple[LedgerEntry, int]:
    """The ledger entry of one version and the version of the period's stream it was read
    at; ConfigError when the log has no such version."""
    read_at = store.stream_version(delivery_stream(registration, period))
    entries = load_period_ledger(store, registration, period).versions(registration, period)
    entry = next((e for e in entries if e.version == version), None)
    if entry is None:
        raise ConfigError(
            f"registration {registration}, period {period}, v{version}: no such version in "
            "the event log; nothing recorded"
        )
    return entry, read_at


def _append(
    store: EventStore, where: str, event: HandOffConfirmed | HandOffAbandoned, read_at: int
) -> None:
    """Append ``event`` only if the period's stream is still where it was read (0883).

    Why: a confirm-upload and an abandon-handover of the same version racing each
    other both passed their checks; the fold keeps the first fact, but the loser
    printed its outcome and rewrote the hospital report ("delivered") all the same.
    """
    try:
        store.append(delivery_stream(event.registration, event.period), [event], read_at)
    except ConcurrencyConflict:
        raise ConfigError(
            f"{where}: the period's event log changed while this ran (another "
            "confirm-upload or abandon-handover, or a run of the period); nothing recorded: "
            "look at `aanlevering status` and run the command again if it still applies"
        ) from None
