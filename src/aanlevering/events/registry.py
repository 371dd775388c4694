"""Resolve stored event types to classes, and upcast old payloads to current ones.

Event classes live next to the stage that records them (e.g.
``aanlevering/validate/events.py``) and register themselves when their module
is imported. A process that only reads the log (``aanlevering events tail``, a
projection rebuild) may not have imported them yet, so :func:`resolve` imports
every module in :data:`EVENT_MODULES` the first time it meets an unknown
type. Add your stage's event module to that list.

Schema evolution: when an event class changes its payload shape it raises its
``schema_version`` and registers, in the same module, an upcaster from the
previous version with :func:`upcaster`. Stored records are never rewritten;
they are upcast step by step (1 -> 2 -> 3 ...) each time they are decoded.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from aanlevering.errors import EventStoreError
from aanlevering.events.codec import decode_payload
from aanlevering.events.model import DomainEvent, RecordedEvent, UnknownEvent, registered_class

log = logging.getLogger(__name__)

# Modules that define event classes, imported lazily by resolve(). Stage packages add theirs.
EVENT_MODULES: tuple[str, ...] = (
    "aanlevering.pipeline.events",
    "aanlevering.deliver.events",
    "aanlevering.obligation.events",
    "aanlevering.optout.events",
    "aanlevering.pseudonym.events",
    "aanlevering.validate.events",
)

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_UPCASTERS: dict[tuple[str, int], Upcaster] = {}
_loaded = False
_load_lock = threading.Lock()


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function turning a ``from_version`` payload into a ``from_version + 1`` one.

    The function gets a copy of the payload (a plain JSON dict) and returns the
    new payload; it must be pure, since it runs on every read of an old record.
    """

    def register(function: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        existing = _UPCASTERS.get(key)
        if existing is not None and existing.__qualname__ != function.__qualname__:
            raise TypeError(f"an upcaster for {event_type} v{from_version} is already registered")
        _UPCASTERS[key] = function
        return function

    return register


def load_event_modules() -> None:
    """Import every module in :data:`EVENT_MODULES` once, so their classes are registered."""
    global _loaded  # noqa: PLW0603 - a process-wide, import-once flag
    with _load_lock:
        if _loaded:
            return
        for module_name in EVENT_MODULES:
            try:
                importlib.import_module(module_name)
            except ModuleNotFoundError as error:
                if error.name != module_name:
                    raise  # the module exists but is broken: a bug to surface, not to hide
                # Listed but not (yet) present, e.g. a stage not installed: its events
                # decode as UnknownEvent; tests/unit/events keeps the list honest.
                log.warning("event module %s is listed but not importable", module_name)
        _loaded = True


def resolve(event_type: str) -> type[DomainEvent] | None:
    """The class of ``event_type``, importing the known event modules if needed."""
    cls = registered_class(event_type)
    if cls is None:
        load_event_modules()
        cls = registered_class(event_type)
    return cls


def upcast(
    event_type: str, from_version: int, to_version: int, payload: dict[str, Any]
) -> dict[str, Any]:
    """Apply the registered upcasters one version step at a time."""
    if from_version > to_version:
        raise EventStoreError(
            f"{event_type}: stored schema version {from_version} is newer than this code's "
            f"{to_version}; upgrade aanlevering before reading this log"
        )
    version = from_version
    while version < to_version:
        step = _UPCASTERS.get((event_type, version))
        if step is None:
            raise EventStoreError(
                f"{event_type}: no upcaster from schema version {version} to {version + 1}"
            )
        payload = step(dict(payload))
        version += 1
    return payload


def decode(record: RecordedEvent) -> DomainEvent:
    """Turn a stored record into its event object; unknown types become :class:`UnknownEvent`.

    A record this code can not read (a newer schema version, a payload that
    is no JSON object or does not fit the class) is an :class:`EventStoreError`
    naming its position, stream and version: a projection must stop on it,
    not skip it (a skipped opt-out is a patient delivered against their will).
    """
    cls = resolve(record.event_type)
    envelope: dict[str, Any] = {"event_id": record.event_id, "occurred_at": record.occurred_at}
    if not isinstance(record.payload, Mapping):
        raise EventStoreError(
            f"{record.place}: {record.event_type}: the payload is not a JSON object"
        )
    if cls is None:
        log.debug("unknown event type %s at position %d", record.event_type, record.position)
        return UnknownEvent(
            stored_type=record.event_type,
            stored_schema_version=record.schema_version,
            payload=dict(record.payload),
            **envelope,
        )
    try:
        payload = upcast(
            record.event_type, record.schema_version, cls.schema_version, dict(record.payload)
        )
        return decode_payload(cls, payload, **envelope)
    except EventStoreError as error:
        raise EventStoreError(f"{record.place}: {error}") from error
