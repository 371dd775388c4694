"""The append-only event log: the system of record of every pipeline fact.

Stages record facts as :class:`DomainEvent` subclasses and append them to a
stream with :meth:`EventStore.append`; projections read them back in global
order with :meth:`EventStore.read_all`. Patients appear only as patient
references (``aanlevering.pseudonym.patient_ref``, a layer above this one:
the log stores them, it does not make them). See ``docs/event-log.md``.
"""

from __future__ import annotations

from aanlevering.events.factory import open_event_store
from aanlevering.events.model import DomainEvent, RecordedEvent, UnknownEvent
from aanlevering.events.registry import EVENT_MODULES, upcaster
from aanlevering.events.store import EventStore

__all__ = [
    "EVENT_MODULES",
    "DomainEvent",
    "EventStore",
    "RecordedEvent",
    "UnknownEvent",
    "open_event_store",
    "upcaster",
]
