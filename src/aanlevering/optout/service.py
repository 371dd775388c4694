"""Record opt-outs read from the EHR as events, idempotently, one stream per patient reference.

An entry becomes an ``OptOutRegistered`` and, when it carries a withdrawal
date, an ``OptOutWithdrawn``. Ids are uuid5 over the patient reference, the
kind, the dates and the scope, so reading the same extract again appends
nothing, and an extract that later adds a withdrawal date appends only the
withdrawal. An opt-out stated without a withdrawal date whose latest fact in
the log is a withdrawal (cleared in the EHR) gets an ``OptOutReinstated``
(decision 0351).

Patients are written in batches of :data:`STREAMS_PER_COMMIT` streams, one
transaction each (``EventStore.append_streams``): a hospital's first ingest
holds tens of thousands of opt-outs, and one commit per patient meant one
disk flush per patient (minutes on PostgreSQL).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from aanlevering.errors import ConcurrencyConflict
from aanlevering.events.model import DomainEvent, RecordedEvent
from aanlevering.events.store import EventStore
from aanlevering.obligation.service import append_missing, not_yet_recorded
from aanlevering.optout.events import (
    OptOutRegistered,
    OptOutReinstated,
    OptOutWithdrawn,
    derived_id,
    optout_key,
    optout_stream,
    scope_key,
)
from aanlevering.optout.sources import OptOutEntry

log = logging.getLogger(__name__)

STREAMS_PER_COMMIT = 2_000


@dataclass(frozen=True)
class OptOutIngestResult:
    """Counts of one ingest (never who)."""

    read: int
    appended: int
    already_recorded: int
    patients: int
    skipped: Mapping[str, int] = field(default_factory=dict)


def optout_events(entry: OptOutEntry) -> list[DomainEvent]:
    """The events recording ``entry``, with derived ids."""
    scope = scope_key(entry.all_registrations, entry.registrations)
    registrations = frozenset() if entry.all_registrations else entry.registrations
    events: list[DomainEvent] = [
        OptOutRegistered(
            event_id=derived_id(entry.patient_ref, "registered", entry.registered_on, scope),
            patient_ref=entry.patient_ref,
            registered_on=entry.registered_on,
            all_registrations=entry.all_registrations,
            registrations=registrations,
            source=entry.source,
        )
    ]
    if entry.withdrawn_on is not None:
        events.append(
            OptOutWithdrawn(
                event_id=derived_id(
                    entry.patient_ref, "withdrawn", entry.registered_on, scope, entry.withdrawn_on
                ),
                patient_ref=entry.patient_ref,
                registered_on=entry.registered_on,
                all_registrations=entry.all_registrations,
                withdrawn_on=entry.withdrawn_on,
                registrations=registrations,
                source=entry.source,
            )
        )
    return events


def record_optouts(
    store: EventStore,
    entries: Sequence[OptOutEntry],
    *,
    skipped: Mapping[str, int] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> OptOutIngestResult:
    """Append what the log does not hold yet of ``entries``; one batch per patient stream."""
    by_patient: dict[str, dict[Any, DomainEvent]] = {}
    for entry in entries:
        events = by_patient.setdefault(entry.patient_ref, {})
        for event in optout_events(entry):
            events.setdefault(event.event_id, event)
    appended = already = 0
    patients = list(by_patient.items())
    for start in range(0, len(patients), STREAMS_PER_COMMIT):
        new, old = _append_batch(store, patients[start : start + STREAMS_PER_COMMIT], metadata)
        appended += new
        already += old
    log.info(
        "opt-outs: %d read, %d event(s) appended, %d already recorded, %d patient(s)",
        len(entries),
        appended,
        already,
        len(by_patient),
    )
    return OptOutIngestResult(len(entries), appended, already, len(by_patient), dict(skipped or {}))


def _append_batch(
    store: EventStore,
    patients: Sequence[tuple[str, dict[Any, DomainEvent]]],
    metadata: Mapping[str, Any] | None,
) -> tuple[int, int]:
    """Append what ``patients``' streams miss in one transaction: (appended, already recorded).

    Reads the batch's streams at once, then appends every stream's missing
    events with its read version as the expected one. A concurrent writer on
    any of them makes the whole transaction fail and nothing is written; the
    batch is then done stream by stream, each re-read and retried
    (``append_missing``), so the outcome is the same as without batching.
    """
    streams = {optout_stream(patient_ref): events for patient_ref, events in patients}
    stored: dict[str, dict[UUID, RecordedEvent]] = {name: {} for name in streams}
    for record in store.read_streams(streams):
        stored[record.stream][record.event_id] = record
    batches: list[tuple[str, Sequence[DomainEvent], int | None]] = []
    appended = already = 0
    for name, events in streams.items():
        for event in _reinstatements(events.values(), stored[name].values()):
            events.setdefault(event.event_id, event)
        new = not_yet_recorded(name, events.values(), stored[name])
        already += len(events) - len(new)
        appended += len(new)
        if new:
            batches.append((name, new, len(stored[name])))
    if not batches:
        return 0, already
    try:
        store.append_streams(batches, metadata=metadata)
    except ConcurrencyConflict:
        log.info("opt-outs: another writer appended to a stream of this batch; one by one")
        appended = already = 0
        for name, events in streams.items():
            new_count, old_count = append_missing(store, name, list(events.values()), metadata)
            appended += new_count
            already += old_count
    return appended, already


def _reinstatements(
    events: Iterable[DomainEvent], stored: Iterable[RecordedEvent]
) -> list[DomainEvent]:
    """Reinstatements for opt-outs stated in force whose latest stored fact is a withdrawal.

    Why: sources are snapshots. A withdrawal cleared in the EHR (the row again
    without a withdrawal date, a Consent ``active`` again) appends no new
    registration (same id), so without this the log kept the withdrawal and
    the patient was delivered. The id names the withdrawal it voids, so
    ingesting the same snapshot again appends nothing.
    """
    withdrawn = {optout_key(e) for e in events if isinstance(e, OptOutWithdrawn)}
    latest: dict[tuple[str, date, str], tuple[str, UUID]] = {}
    for record in sorted(stored, key=lambda r: r.version):
        if record.event_type not in _VOIDING_TYPES:
            continue  # registrations (most of the log) are not decoded
        fact = record.to_event()
        if isinstance(fact, OptOutWithdrawn | OptOutReinstated):
            latest[optout_key(fact)] = (fact.event_type, record.event_id)
    found: list[DomainEvent] = []
    for event in events:
        if not isinstance(event, OptOutRegistered):
            continue
        key = optout_key(event)
        if key in withdrawn:
            continue  # the source states a withdrawal: nothing to reinstate
        last = latest.get(key)
        if last is None or last[0] != OptOutWithdrawn.event_type:
            continue
        found.append(
            OptOutReinstated(
                event_id=derived_id(
                    event.patient_ref, "reinstated", event.registered_on, key[2], last[1]
                ),
                patient_ref=event.patient_ref,
                registered_on=event.registered_on,
                all_registrations=event.all_registrations,
                registrations=event.registrations,
                source=event.source,
            )
        )
    return found


#: Stored facts that decide whether a stated opt-out is withdrawn (decision 0351).
_VOIDING_TYPES = frozenset({OptOutWithdrawn.event_type, OptOutReinstated.event_type})
