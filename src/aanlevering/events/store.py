"""The event store port: append facts to streams, read them back in a global order.

Two counters matter. A stream's ``version`` (1, 2, 3 ... per stream) is what
optimistic concurrency checks: ``append(stream, events, expected_version=n)``
succeeds only if the stream is at version ``n`` (``0``: the stream must be new;
``None``: no check), otherwise :class:`ConcurrencyConflict`. The global
``position`` (1, 2, 3 ... over all streams) is gap-free and committed in order,
so a projection that remembers the last position it processed never misses an
event, even with many writers in many processes.

Appending an event whose ``event_id`` is already recorded is a no-op returning
the stored record, so a task that crashed after the commit can simply retry.
There is no update or delete: the log is the system of record.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from aanlevering.errors import EventStoreError
from aanlevering.events.codec import (
    JsonValue,
    canonical_json,
    encode_payload,
    encode_value,
    utc_timestamp,
)
from aanlevering.events.guard import check_encoded_payload, check_no_identifiers
from aanlevering.events.model import DomainEvent, RecordedEvent, registered_class

STREAM_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}")
DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class PendingEvent:
    """An event encoded for storage, before the store gives it a position and version."""

    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    payload: dict[str, JsonValue]
    payload_json: str


def check_stream_name(stream: str) -> None:
    """Refuse stream names that are empty, odd, or carry a BSN-like token."""
    if not isinstance(stream, str) or not STREAM_PATTERN.fullmatch(stream):
        raise EventStoreError(
            "stream names are 1-200 characters of letters, digits and . _ : / -, "
            "starting with a letter or digit"
        )
    check_no_identifiers(stream, "stream name")


def check_expected_version(expected_version: int | None) -> None:
    """``None`` (no check) or a version >= 0."""
    if expected_version is None:
        return
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise EventStoreError("expected_version must be an int >= 0 or None")
    if expected_version < 0:
        raise EventStoreError(f"expected_version must be >= 0 or None, got {expected_version}")


def prepare_batch(events: Sequence[DomainEvent]) -> list[PendingEvent]:
    """Encode and check a batch: registered classes, unique ids, UTC times, no BSNs."""
    pending: list[PendingEvent] = []
    seen: set[UUID] = set()
    for index, event in enumerate(events):
        if not isinstance(event, DomainEvent) or registered_class(event.event_type) is not type(
            event
        ):
            raise EventStoreError(
                f"event {index} of the batch is not an instance of a registered event class "
                f"(got {type(event).__name__})"
            )
        if not isinstance(event.event_id, UUID):
            raise EventStoreError(f"{event.event_type}: event_id must be a UUID")
        if event.event_id in seen:
            raise EventStoreError(f"event id {event.event_id} occurs twice in one batch")
        seen.add(event.event_id)
        payload = encode_payload(event)
        payload_json = canonical_json(payload)
        check_encoded_payload(payload, payload_json, event.event_type)
        pending.append(
            PendingEvent(
                event_id=event.event_id,
                event_type=event.event_type,
                schema_version=event.schema_version,
                occurred_at=utc_timestamp(event.occurred_at, f"{event.event_type}.occurred_at"),
                payload=payload,
                payload_json=payload_json,
            )
        )
    return pending


def prepare_metadata(metadata: Mapping[str, Any] | None) -> str:
    """Encode the batch's metadata (run id, actor ...) as JSON, refusing BSN-like values."""
    encoded = encode_value(dict(metadata or {}), "metadata")
    check_no_identifiers(encoded, "metadata")
    return canonical_json(encoded)


def check_retry_matches(stream: str, pending: PendingEvent, stored: RecordedEvent) -> None:
    """A re-appended event id must be the same fact; anything else is a caller bug."""
    same = (
        stored.stream == stream
        and stored.event_type == pending.event_type
        and stored.schema_version == pending.schema_version
        and dict(stored.payload) == pending.payload
    )
    if not same:
        raise EventStoreError(
            f"event id {pending.event_id} is already recorded (stream {stored.stream!r}, "
            f"version {stored.version}, type {stored.event_type}) with different content; "
            "event ids must not be reused for other facts"
        )


class EventStore(ABC):
    """The port every backend implements; open one with ``open_event_store(url)``.

    A store object holds one connection: use one per thread (processes open
    their own). It is a context manager that closes the connection.
    """

    def append(
        self,
        stream: str,
        events: Sequence[DomainEvent],
        expected_version: int | None,
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[RecordedEvent]:
        """Append ``events`` to ``stream`` atomically, after the optimistic concurrency check.

        ``expected_version``: ``None`` appends whatever the stream's version,
        ``0`` requires a new stream, ``n`` requires the stream to be at ``n``.
        ``metadata`` (JSON-able: run id, actor ...) is stored with every event.
        Raises :class:`ConcurrencyConflict` when another writer came first and
        :class:`EventStoreError` for events that can not be stored. If every
        event id is already recorded (a retry), returns the stored records and
        writes nothing.
        """
        check_stream_name(stream)
        check_expected_version(expected_version)
        pending = prepare_batch(events)
        metadata_json = prepare_metadata(metadata)
        if not pending:
            return []
        return self._append(stream, pending, expected_version, metadata_json)

    def append_streams(
        self,
        batches: Sequence[tuple[str, Sequence[DomainEvent], int | None]],
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[RecordedEvent]:
        """Append to several streams in one transaction: every batch or none.

        Each ``(stream, events, expected_version)`` is checked as :meth:`append`
        checks it (a batch whose event ids are all recorded is a retry and is
        returned, not written again). Why: ingesting thousands of opt-outs,
        one stream per patient, or building a benchmark log, one commit per
        stream would be one disk flush per patient.
        """
        prepared: list[tuple[str, list[PendingEvent], int | None]] = []
        for stream, events, expected_version in batches:
            check_stream_name(stream)
            check_expected_version(expected_version)
            pending = prepare_batch(events)
            if pending:
                prepared.append((stream, pending, expected_version))
        metadata_json = prepare_metadata(metadata)
        if not prepared:
            return []
        return self._append_streams(prepared, metadata_json)

    def _append_streams(
        self, prepared: list[tuple[str, list[PendingEvent], int | None]], metadata_json: str
    ) -> list[RecordedEvent]:
        """Backend part of :meth:`append_streams`; this default is not atomic across streams."""
        records: list[RecordedEvent] = []
        for stream, pending, expected_version in prepared:
            records.extend(self._append(stream, pending, expected_version, metadata_json))
        return records

    @abstractmethod
    def _append(
        self,
        stream: str,
        pending: list[PendingEvent],
        expected_version: int | None,
        metadata_json: str,
    ) -> list[RecordedEvent]:
        """Backend part of :meth:`append`: serialised, checked, all-or-nothing."""

    @abstractmethod
    def read_stream(self, stream: str, from_version: int = 1) -> list[RecordedEvent]:
        """The events of one stream from ``from_version`` on, in version order."""

    @abstractmethod
    def read_all(
        self,
        after_position: int = 0,
        limit: int | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[RecordedEvent]:
        """Every event after ``after_position`` in global order, fetched in batches.

        Positions are gap-free and become visible in order, so ``after_position``
        = the last position a projection processed is a complete resume point.
        """

    def read_streams(self, streams: Iterable[str]) -> list[RecordedEvent]:
        """The events of several streams (each name once), in global order.

        Why: a projection about a few things (the run's patients, one period)
        reads their streams by name, an index lookup each, instead of the
        whole log. This default reads stream by stream; backends batch it.
        """
        found = [record for name in dict.fromkeys(streams) for record in self.read_stream(name)]
        return sorted(found, key=lambda record: record.position)

    def read_stream_prefix(self, prefix: str) -> list[RecordedEvent]:
        """The events of every stream whose name starts with ``prefix``, in global order.

        Why: the facts of one registration across all its periods (its
        ``delivery-<registration>-<period>`` streams) without knowing the
        periods beforehand, and without reading every registration's facts:
        a run's cost must not grow with the other registrations in the log
        (decision 0497). This default filters :meth:`read_all`, the
        straightforward version the backends are checked against.
        """
        check_stream_name(prefix)
        return [record for record in self.read_all() if record.stream.startswith(prefix)]

    def read_types(
        self, event_types: Iterable[str], after_position: int = 0
    ) -> Iterator[RecordedEvent]:
        """The events of these types after ``after_position``, in global order.

        Why: a projection that folds one kind of fact (deliveries, register
        decisions, opt-outs) reads that kind only, through an index, so the
        rest of the log (delivery contents, locks) costs it nothing. This
        default filters :meth:`read_all`, the straightforward version the
        backends are checked against.
        """
        wanted = frozenset(event_types)
        return (record for record in self.read_all(after_position) if record.event_type in wanted)

    def last_of_type(self, event_type: str) -> RecordedEvent | None:
        """The latest event of ``event_type`` in the log, or None.

        Why: "what did the last run apply" needs one event, and reading every
        one of its kind made that cost grow with the log (decision 0497).
        This default walks :meth:`read_types`, the straightforward version.
        """
        last = None
        for record in self.read_types([event_type]):
            last = record
        return last

    def count_types(self, event_types: Iterable[str], at_most: int | None = None) -> int:
        """How many events of these types the log holds, counting up to ``at_most``.

        Why ``at_most``: to choose how to read, a caller needs to know only
        whether there are more than some number, and counting stops there.
        """
        count = 0
        for _ in self.read_types(event_types):
            if at_most is not None and count >= at_most:
                break
            count += 1
        return count

    def count_streams(self, event_types: Iterable[str], up_to_position: int | None = None) -> int:
        """How many streams hold an event of these types (up to ``up_to_position``).

        Why: a read model that only says how many (patients with an opt-out:
        one stream each) should not fold 200,000 events to count them. This
        default reads the events by type, the straightforward version the
        backends are checked against.
        """
        return len(
            {
                record.stream
                for record in self.read_types(event_types)
                if up_to_position is None or record.position <= up_to_position
            }
        )

    @abstractmethod
    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 when it has no events)."""

    @abstractmethod
    def last_position(self) -> int:
        """The highest global position (0 when the log is empty)."""

    @abstractmethod
    def open_another(self) -> EventStore:
        """A second, independent connection to the same log; the caller closes it.

        Why: a thread working beside the one using this store (the run lock's
        heartbeat, decision 0477) must not share its connection or transaction.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the connection; safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
