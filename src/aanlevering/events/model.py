"""The shapes of the event log: facts to append and records read back.

A :class:`DomainEvent` is a small frozen dataclass that reads like a fact
("DeliveryReceipted"). Subclasses register themselves by their class-level
``event_type`` so a stored record can be turned back into its class without a
hand-kept mapping; ``schema_version`` says which payload shape the class
writes, so older records can be upcast (see :mod:`aanlevering.events.registry`).

A :class:`RecordedEvent` is what the store hands back: the stored envelope
(position, stream, version, times) with the payload as stored, undecoded, so
audit tools can show exactly what is in the log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID, uuid4

if TYPE_CHECKING:
    from collections.abc import Iterator

# "<package>.<FactInPastTense>", e.g. "deliver.DeliveryReceipted".
EVENT_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*\.[A-Z][A-Za-z0-9]*")

# Envelope fields every event carries; they are stored in columns, not in the payload.
ENVELOPE_FIELDS: frozenset[str] = frozenset({"event_id", "occurred_at"})

_EVENT_CLASSES: dict[str, type[DomainEvent]] = {}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Base of every fact the pipeline records.

    Subclasses are ``@dataclass(frozen=True)`` (without ``slots=True``) and set
    ``event_type`` (unique, ``"<package>.<FactInPastTense>"``) and, once their
    payload shape changes, a higher ``schema_version`` plus an upcaster for the
    previous version. ``event_id`` is what makes appends idempotent: a retry
    must reuse the same event objects (or ids), never build fresh ones.
    An intermediate base class that must not be registered sets
    ``_abstract_event = True`` in its own body.
    """

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    _abstract_event: ClassVar[bool] = True

    event_id: UUID = field(default_factory=uuid4)
    occurred_at: datetime = field(default_factory=_utcnow)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_abstract_event", False):
            return
        _register(cls)


def _register(cls: type[DomainEvent]) -> None:
    event_type = cls.__dict__.get("event_type")
    where = f"{cls.__module__}.{cls.__qualname__}"
    if not isinstance(event_type, str) or not EVENT_TYPE_PATTERN.fullmatch(event_type):
        raise TypeError(
            f"{where} must set event_type: ClassVar[str] in its own body, shaped like "
            f"'<package>.<FactInPastTense>' (e.g. 'deliver.DeliveryReceipted'), got {event_type!r}"
        )
    version = cls.schema_version
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise TypeError(f"{where}: schema_version must be an int >= 1, got {version!r}")
    existing = _EVENT_CLASSES.get(event_type)
    if existing is not None and (existing.__module__, existing.__qualname__) != (
        cls.__module__,
        cls.__qualname__,
    ):
        raise TypeError(
            f"{where}: event_type {event_type!r} is already used by "
            f"{existing.__module__}.{existing.__qualname__}"
        )
    # Same module and name again (module re-import, or a dataclass(slots=True) rebuild):
    # the newest class object wins.
    _EVENT_CLASSES[event_type] = cls


def registered_class(event_type: str) -> type[DomainEvent] | None:
    """The class registered under ``event_type`` among modules imported so far."""
    return _EVENT_CLASSES.get(event_type)


def registered_types() -> Iterator[str]:
    """Every event type registered so far (for diagnostics and tests)."""
    return iter(sorted(_EVENT_CLASSES))


@dataclass(frozen=True, kw_only=True)
class UnknownEvent(DomainEvent):
    """A stored event whose type this code does not know (e.g. written by a newer release).

    Decoding yields this instead of failing, so tools that only show or count
    events keep working; it can not be appended.
    """

    event_type: ClassVar[str] = "events.UnknownEvent"
    _abstract_event: ClassVar[bool] = True

    stored_type: str
    stored_schema_version: int
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class RecordedEvent:
    """One stored event, exactly as the log holds it.

    ``position`` is the global, gap-free order (from 1) that projections
    follow; ``version`` is the place in its stream (from 1) that optimistic
    concurrency checks. ``payload`` is the stored JSON at ``schema_version``;
    :meth:`to_event` upcasts and decodes it into the event class.
    """

    position: int
    event_id: UUID
    stream: str
    version: int
    event_type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    payload: Mapping[str, Any] = field(hash=False)
    metadata: Mapping[str, Any] = field(hash=False)

    @property
    def place(self) -> str:
        """Where the record is, for errors: position, stream and version (never the payload).

        Why: an engineer finds a damaged row with ``aanlevering events tail``
        by these; the payload may hold what must not be printed.
        """
        return f"event at position {self.position} (stream {self.stream!r}, version {self.version})"

    def to_event(self) -> DomainEvent:
        """Decode into the registered event class (or :class:`UnknownEvent`)."""
        from aanlevering.events.registry import decode

        return decode(self)
