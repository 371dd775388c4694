"""Record opt-outs read from the EHR as events, idempotently, one stream per patient reference.

An entry becomes an ``OptOutRegistered`` and, when it carries a withdrawal
date, an ``OptOutWithdrawn``. Ids are uuid5 over the patient reference, the
kind, the dates and the scope, so reading the same extract again appends
nothing, and an extract that later adds a withdrawal date appends only the
withdrawal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aanlevering.events.model import DomainEvent
from aanlevering.events.store import EventStore
from aanlevering.obligation.service import append_missing
from aanlevering.optout.events import (
    OptOutRegistered,
    OptOutWithdrawn,
    derived_id,
    optout_stream,
    scope_key,
)
from aanlevering.optout.sources import OptOutEntry

log = logging.getLogger(__name__)


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
    for patient_ref, events in by_patient.items():
        new, old = append_missing(
            store, optout_stream(patient_ref), list(events.values()), metadata
        )
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
