"""Record register decisions in the event log, idempotently.

Every decision's event id is derived from its registration, kind and dates,
so recording a feed again (or a decision entered twice) appends nothing: the
events already in the stream are skipped. A decision that is already recorded
with a different note is skipped too; the log keeps what it first learned.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aanlevering.errors import ConcurrencyConflict, EventStoreError
from aanlevering.events.codec import encode_payload
from aanlevering.events.model import DomainEvent, RecordedEvent
from aanlevering.events.store import EventStore
from aanlevering.obligation.decisions import RegisterDecision, to_event
from aanlevering.obligation.events import RegisterEvent, stream_name

log = logging.getLogger(__name__)

_ATTEMPTS = 5


@dataclass(frozen=True)
class IngestResult:
    """How many decisions were new, how many the log already held, and for which registrations."""

    appended: int
    already_recorded: int
    registrations: tuple[str, ...]


def record_decisions(
    store: EventStore,
    decisions: Sequence[RegisterDecision],
    *,
    metadata: Mapping[str, Any] | None = None,
) -> IngestResult:
    """Append the events of ``decisions`` that the log does not hold yet (one batch per stream)."""
    by_registration: dict[str, dict[UUID, RegisterEvent]] = {}
    for decision in decisions:
        event = to_event(decision)
        by_registration.setdefault(decision.registration, {}).setdefault(event.event_id, event)
    appended = already = 0
    for registration, events in by_registration.items():
        new, old = append_missing(store, stream_name(registration), list(events.values()), metadata)
        appended += new
        already += old
    log.info(
        "register decisions: %d appended, %d already recorded, %d registration(s)",
        appended,
        already,
        len(by_registration),
    )
    return IngestResult(appended, already, tuple(sorted(by_registration)))


def not_yet_recorded(
    stream: str, events: Iterable[DomainEvent], recorded: Mapping[UUID, RecordedEvent]
) -> list[DomainEvent]:
    """The events whose ids ``recorded`` (the stream as read) does not hold.

    An id recorded with other content is not new either, and is logged: the
    log keeps what it first learned.
    """
    new: list[DomainEvent] = []
    for event in events:
        record = recorded.get(event.event_id)
        if record is None:
            new.append(event)
        elif dict(record.payload) != encode_payload(event):
            log.warning(
                "stream %s: a %s with this id is already recorded with other details; "
                "keeping the recorded one",
                stream,
                event.event_type,
            )
    return new


def append_missing(
    store: EventStore,
    stream: str,
    events: Sequence[DomainEvent],
    metadata: Mapping[str, Any] | None = None,
) -> tuple[int, int]:
    """Append the events whose (derived) ids ``stream`` does not hold yet: (appended, skipped).

    Ids already recorded with other content (a changed note) are skipped with
    a warning: the log keeps what it first learned. Retries on a concurrent
    writer.
    """
    for _attempt in range(_ATTEMPTS):
        stored = {record.event_id: record for record in store.read_stream(stream)}
        new = not_yet_recorded(stream, events, stored)
        if not new:
            return 0, len(events)
        try:
            store.append(stream, new, expected_version=len(stored), metadata=metadata)
        except ConcurrencyConflict:
            log.info("stream %s: another writer appended first; reading it again", stream)
            continue
        return len(new), len(events) - len(new)
    raise EventStoreError(
        f"stream {stream!r}: gave up after {_ATTEMPTS} concurrent-write conflicts"
    )
