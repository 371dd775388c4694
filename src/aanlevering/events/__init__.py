"""The append-only event log: the system of record of every pipeline fact.

Stages record facts as :class:`DomainEvent` subclasses and append them to a
stream with :meth:`EventStore.append`; projections read them back in global
order with :meth:`EventStore.read_all`. Patients appear only as patient
references (:class:`PatientRefHasher`). See ``docs/event-log.md``.
"""

from __future__ import annotations

from aanlevering.events.factory import open_event_store
from aanlevering.events.model import DomainEvent, RecordedEvent, UnknownEvent
from aanlevering.events.patient_ref import PatientRefHasher, is_patient_ref
from aanlevering.events.registry import EVENT_MODULES, upcaster
from aanlevering.events.store import EventStore

__all__ = [
    "EVENT_MODULES",
    "DomainEvent",
    "EventStore",
    "PatientRefHasher",
    "RecordedEvent",
    "UnknownEvent",
    "is_patient_ref",
    "open_event_store",
    "upcaster",
]
