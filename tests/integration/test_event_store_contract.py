"""One contract for every event store backend: SQLite (embedded) and PostgreSQL (production).

``EventStoreContract`` holds the scenarios; each backend subclasses it and
supplies a fresh store URL plus raw SQL access (to prove that the database
itself, not just our API, refuses to change history).
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from multiprocessing.synchronize import Barrier as BarrierType
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import psycopg
import pytest

from aanlevering.errors import ConcurrencyConflict, EventStoreError
from aanlevering.events import EventStore, UnknownEvent, open_event_store
from aanlevering.pseudonym_types import PseudonymType
from support.event_examples import ExampleDeliveryReceipted, ExampleOptOutRegistered
from support.postgres import owner_and_app_roles

BSN = "123456782"  # passes the eleven-test (a test number, not a person's)
SPAWN = multiprocessing.get_context("spawn")  # like Airflow: every task a fresh interpreter
PROCESS_DEADLINE = 120.0


def receipt(n: int = 1, **overrides: Any) -> ExampleDeliveryReceipted:
    values: dict[str, Any] = {
        "registration": "nkr-borst",
        "period": "2026",
        "receipt_id": f"rcpt-{n}",
        "record_count": 100 + n,
    }
    values.update(overrides)
    return ExampleDeliveryReceipted(**values)


# --- workers for the multi-process scenarios (module level, so "spawn" can import them) ---


def _append_worker(url: str, worker: int, count: int, barrier: BarrierType, results: Any) -> None:
    shared = worker % 2 == 0
    stream = "delivery-shared" if shared else f"delivery-worker-{worker}"
    ids: list[str] = []
    with open_event_store(url) as store:
        barrier.wait(timeout=PROCESS_DEADLINE)
        for i in range(count):
            event = receipt(i, registration=f"worker-{worker}")
            # Own streams check the version every time; the shared stream does not.
            store.append(stream, [event], None if shared else i)
            ids.append(str(event.event_id))
    results.put((worker, ids))


def _tail_worker(url: str, expected_total: int, writers_done: EventType, results: Any) -> None:
    seen: list[int] = []
    problems: list[str] = []
    with open_event_store(url) as store:
        last = 0
        while last < expected_total:
            for record in store.read_all(after_position=last, batch_size=7):
                if record.position != last + 1:
                    problems.append(f"after {last} came {record.position}")
                last = record.position
                seen.append(record.position)
            if writers_done.is_set() and store.last_position() == last:
                break
            writers_done.wait(0.005)
    results.put((seen, problems))


def _first_open_worker(url: str, worker: int, barrier: BarrierType, results: Any) -> None:
    barrier.wait(timeout=PROCESS_DEADLINE)
    with open_event_store(url) as store:
        store.append(f"opener-{worker}", [receipt(worker)], 0)
    results.put(worker)


def _conflict_worker(url: str, worker: int, barrier: BarrierType, results: Any) -> None:
    with open_event_store(url) as store:
        barrier.wait(timeout=PROCESS_DEADLINE)
        try:
            store.append("delivery-contended", [receipt(worker)], 0)
            results.put((worker, "won"))
        except ConcurrencyConflict as error:
            results.put((worker, f"conflict: {error}"))


@contextmanager
def running(processes: Sequence[Any]) -> Iterator[None]:
    """Start the processes; whatever happens, none outlives the test."""
    for process in processes:
        process.start()
    try:
        yield
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join(10)


def collect(results: Any, processes: Sequence[Any], count: int) -> list[Any]:
    """``count`` results from the queue; fail at once if a process dies instead of answering."""
    deadline = time.monotonic() + PROCESS_DEADLINE
    items: list[Any] = []
    while len(items) < count:
        try:
            items.append(results.get(timeout=0.2))
        except queue.Empty:
            crashed = [
                f"{p.name} (exit {p.exitcode})" for p in processes if p.exitcode not in (None, 0)
            ]
            if crashed:
                pytest.fail(f"worker process crashed: {', '.join(crashed)} (see captured stderr)")
            if time.monotonic() > deadline:
                pytest.fail(f"only {len(items)} of {count} results within {PROCESS_DEADLINE}s")
    return items


def finish(processes: Sequence[Any]) -> None:
    for process in processes:
        process.join(PROCESS_DEADLINE)
        assert process.exitcode == 0, f"{process.name} ended with {process.exitcode}"


class EventStoreContract:
    """Scenarios every backend must pass. Subclasses provide ``store_url`` and raw SQL."""

    @pytest.fixture
    def store_url(self) -> str:
        raise NotImplementedError

    @pytest.fixture
    def store(self, store_url: str) -> Iterator[EventStore]:
        with open_event_store(store_url) as store:
            yield store

    def raw_execute(self, url: str, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement (``?`` placeholders) on a connection of its own, outside our API."""
        raise NotImplementedError

    def insert_raw(self, url: str, **row: Any) -> None:
        """Insert a row the way an older (or newer) release would have written it."""
        defaults: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "occurred_at": "2026-02-01T09:00:00+00:00",
            "recorded_at": "2026-02-01T09:00:01+00:00",
            "metadata": "{}",
        }
        values = {**defaults, **row}
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.raw_execute(
            url, f"INSERT INTO event_log ({columns}) VALUES ({marks})", list(values.values())
        )

    # --- appending and reading ---

    def test_an_empty_log_is_at_position_zero(self, store: EventStore) -> None:
        assert store.last_position() == 0
        assert store.stream_version("delivery-nkr-borst-2026") == 0
        assert store.read_stream("delivery-nkr-borst-2026") == []
        assert list(store.read_all()) == []

    def test_appended_facts_come_back_with_versions_positions_and_payload(
        self, store: EventStore
    ) -> None:
        first = receipt(
            1, pseudonym_types=(PseudonymType.NGG, PseudonymType.C), received_on=date(2026, 3, 2)
        )
        second = receipt(2)
        recorded = store.append(
            "delivery-nkr-borst-2026", [first, second], 0, metadata={"run_id": "run-7"}
        )
        opt_out = ExampleOptOutRegistered(
            patient_ref="pr_" + "a" * 32,
            registered_on=date(2027, 1, 5),
            registrations=frozenset({"ltr", "dsaa"}),
        )
        store.append("optout-register", [opt_out], None)

        assert [(r.position, r.version) for r in recorded] == [(1, 1), (2, 2)]
        stream = store.read_stream("delivery-nkr-borst-2026")
        assert [r.event_id for r in stream] == [first.event_id, second.event_id]
        assert stream[0].event_type == "examples.DeliveryReceipted"
        assert stream[0].schema_version == 2
        assert stream[0].payload["pseudonym_types"] == ["NGG", "C"]
        assert stream[0].metadata == {"run_id": "run-7"}
        assert stream[0].to_event() == first
        assert stream == recorded

        everything = list(store.read_all())
        assert [(r.position, r.stream, r.version) for r in everything] == [
            (1, "delivery-nkr-borst-2026", 1),
            (2, "delivery-nkr-borst-2026", 2),
            (3, "optout-register", 1),
        ]
        assert everything[2].to_event() == opt_out
        assert store.stream_version("delivery-nkr-borst-2026") == 2
        assert store.last_position() == 3

    def test_read_stream_starts_at_the_version_asked_for(self, store: EventStore) -> None:
        store.append("delivery-ltr-2026", [receipt(i) for i in range(5)], 0)
        assert [r.version for r in store.read_stream("delivery-ltr-2026", from_version=4)] == [4, 5]

    def test_read_all_resumes_after_a_position_in_batches_and_stops_at_limit(
        self, store: EventStore
    ) -> None:
        for i in range(10):
            store.append(f"stream-{i % 3}", [receipt(i)], None)
        assert [r.position for r in store.read_all(after_position=4, batch_size=2)] == [
            5,
            6,
            7,
            8,
            9,
            10,
        ]
        assert [r.position for r in store.read_all(after_position=2, limit=3, batch_size=2)] == [
            3,
            4,
            5,
        ]
        assert list(store.read_all(after_position=10)) == []
        with pytest.raises(EventStoreError):
            list(store.read_all(after_position=-1))

    def test_times_are_stored_in_utc_and_naive_times_are_refused(self, store: EventStore) -> None:
        amsterdam_summer = timezone(timedelta(hours=2))
        event = receipt(
            occurred_at=datetime(2026, 6, 1, 14, 30, 0, 123456, tzinfo=amsterdam_summer)
        )
        store.append("delivery-dsaa-2026", [event], 0)
        stored = store.read_stream("delivery-dsaa-2026")[0]
        assert stored.occurred_at == datetime(2026, 6, 1, 12, 30, 0, 123456, tzinfo=UTC)
        assert stored.occurred_at.utcoffset() == timedelta(0)
        assert stored.recorded_at.tzinfo is not None
        with pytest.raises(EventStoreError, match="naive datetime"):
            store.append(
                "delivery-dsaa-2026", [receipt(2, occurred_at=datetime(2026, 6, 1, 12, 0))], None
            )
        assert store.stream_version("delivery-dsaa-2026") == 1

    def test_events_survive_reopening_and_schema_creation_is_idempotent(
        self, store_url: str
    ) -> None:
        with open_event_store(store_url) as store:
            store.append("delivery-nkr-borst-2026", [receipt(1)], 0)
        with open_event_store(store_url) as store:
            assert store.stream_version("delivery-nkr-borst-2026") == 1
            store.append("delivery-nkr-borst-2026", [receipt(2)], 1)
            assert store.last_position() == 2

    def test_a_closed_store_refuses_work(self, store_url: str) -> None:
        store = open_event_store(store_url)
        store.close()
        store.close()
        with pytest.raises(EventStoreError, match="closed"):
            store.last_position()

    # --- optimistic concurrency ---

    def test_expected_version_zero_means_the_stream_must_be_new(self, store: EventStore) -> None:
        store.append("delivery-nkr-borst-2026", [receipt(1)], 0)
        with pytest.raises(ConcurrencyConflict) as conflict:
            store.append("delivery-nkr-borst-2026", [receipt(2)], 0)
        message = str(conflict.value)
        assert "'delivery-nkr-borst-2026'" in message
        assert "expected version 0" in message
        assert "at version 1" in message
        assert store.last_position() == 1

    def test_a_stale_expected_version_conflicts_and_writes_nothing(self, store: EventStore) -> None:
        store.append("delivery-ltr-2026", [receipt(1), receipt(2)], 0)
        with pytest.raises(ConcurrencyConflict, match="expected version 1, but it is at version 2"):
            store.append("delivery-ltr-2026", [receipt(3), receipt(4)], 1)
        assert store.stream_version("delivery-ltr-2026") == 2
        store.append("delivery-ltr-2026", [receipt(3)], 2)
        assert store.stream_version("delivery-ltr-2026") == 3

    def test_no_expected_version_appends_whatever_the_stream_is_at(self, store: EventStore) -> None:
        store.append("optout-register", [receipt(1)], None)
        store.append("optout-register", [receipt(2)], None)
        assert store.stream_version("optout-register") == 2

    def test_a_negative_expected_version_is_refused(self, store: EventStore) -> None:
        with pytest.raises(EventStoreError, match="expected_version"):
            store.append("delivery-ltr-2026", [receipt(1)], -1)

    # --- idempotent retries ---

    def test_reappending_the_same_events_is_a_no_op(self, store: EventStore) -> None:
        batch = [receipt(1), receipt(2)]
        first = store.append("delivery-nkr-borst-2026", batch, 0)
        store.append("other-stream", [receipt(3)], None)
        # Same ids again, with the now stale expected version: a retry after a lost reply.
        retried = store.append("delivery-nkr-borst-2026", batch, 0)
        assert retried == first
        assert store.last_position() == 3
        assert store.stream_version("delivery-nkr-borst-2026") == 2
        assert [r.event_id for r in store.read_stream("delivery-nkr-borst-2026")] == [
            event.event_id for event in batch
        ]

    def test_an_event_id_reused_for_another_fact_is_refused(self, store: EventStore) -> None:
        original = receipt(1)
        store.append("delivery-nkr-borst-2026", [original], 0)
        impostor = receipt(2, event_id=original.event_id)
        with pytest.raises(EventStoreError, match="different content"):
            store.append("delivery-nkr-borst-2026", [impostor], None)
        with pytest.raises(EventStoreError, match="different content"):
            store.append("another-stream", [original], None)
        assert store.last_position() == 1

    def test_a_batch_only_partly_recorded_before_is_refused(self, store: EventStore) -> None:
        recorded = receipt(1)
        store.append("delivery-nkr-borst-2026", [recorded], 0)
        with pytest.raises(EventStoreError, match="1 of 2 event ids"):
            store.append("delivery-nkr-borst-2026", [recorded, receipt(2)], None)
        assert store.last_position() == 1

    def test_the_same_event_twice_in_one_batch_is_refused(self, store: EventStore) -> None:
        event = receipt(1)
        with pytest.raises(EventStoreError, match="occurs twice"):
            store.append("delivery-nkr-borst-2026", [event, event], 0)

    # --- append-only, enforced by the database ---

    def test_the_database_refuses_update(self, store: EventStore, store_url: str) -> None:
        store.append("delivery-nkr-borst-2026", [receipt(1)], 0)
        with pytest.raises(Exception, match="append-only: UPDATE refused"):
            self.raw_execute(
                store_url, "UPDATE event_log SET stream = ? WHERE position = 1", ["rewritten"]
            )
        assert store.read_stream("delivery-nkr-borst-2026")[0].position == 1

    def test_the_database_refuses_delete(self, store: EventStore, store_url: str) -> None:
        store.append("delivery-nkr-borst-2026", [receipt(1)], 0)
        with pytest.raises(Exception, match="append-only: DELETE refused"):
            self.raw_execute(store_url, "DELETE FROM event_log")
        assert store.last_position() == 1

    def test_the_api_has_no_way_to_change_history(self) -> None:
        names = {name for name in dir(EventStore) if not name.startswith("_")}
        assert names == {
            "append",
            "append_streams",
            "read_stream",
            "read_streams",
            "read_all",
            "read_types",
            "read_stream_prefix",
            "last_of_type",
            "count_types",
            "count_streams",
            "stream_version",
            "last_position",
            "open_another",
            "close",
        }

    def test_another_connection_reads_and_writes_the_same_log(self, store: EventStore) -> None:
        store.append("delivery-nkr-borst-2026", [receipt(1)], 0)
        with store.open_another() as other:
            assert other is not store
            assert [r.version for r in other.read_stream("delivery-nkr-borst-2026")] == [1]
            other.append("delivery-nkr-borst-2026", [receipt(2)], 1)
            with pytest.raises(ConcurrencyConflict):
                store.append("delivery-nkr-borst-2026", [receipt(3)], 1)
        assert store.stream_version("delivery-nkr-borst-2026") == 2  # closing it left this open

    # --- decoding: upcasting and unknown types ---

    def test_a_version_1_record_is_upcast_when_read(
        self, store: EventStore, store_url: str
    ) -> None:
        old_payload = {
            "registration": "ltr",
            "period": "2026",
            "receipt_id": "rcpt-old",
            "records": 42,
        }
        self.insert_raw(
            store_url,
            position=1,
            stream="delivery-ltr-2026",
            version=1,
            event_type="examples.DeliveryReceipted",
            schema_version=1,
            payload=json.dumps(old_payload),
        )
        record = next(store.read_all())
        assert record.schema_version == 1
        assert record.payload == old_payload  # the log is never rewritten
        event = record.to_event()
        assert isinstance(event, ExampleDeliveryReceipted)
        assert event.record_count == 42
        assert event.pseudonym_types == ()
        assert event.occurred_at == datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
        assert store.append("delivery-ltr-2026", [receipt(2)], 1)[0].position == 2

    def test_a_record_newer_than_this_code_is_refused_clearly(
        self, store: EventStore, store_url: str
    ) -> None:
        self.insert_raw(
            store_url,
            position=1,
            stream="delivery-ltr-2026",
            version=1,
            event_type="examples.DeliveryReceipted",
            schema_version=9,
            payload="{}",
        )
        with pytest.raises(EventStoreError, match="schema version 9 is newer"):
            next(store.read_all()).to_event()

    def test_an_unknown_event_type_decodes_to_unknown_event(
        self, store: EventStore, store_url: str
    ) -> None:
        self.insert_raw(
            store_url,
            position=1,
            stream="future-stream",
            version=1,
            event_type="future.SomethingHappened",
            schema_version=3,
            payload=json.dumps({"colour": "green", "n": 3}),
        )
        event = next(store.read_all()).to_event()
        assert isinstance(event, UnknownEvent)
        assert event.stored_type == "future.SomethingHappened"
        assert event.stored_schema_version == 3
        assert event.payload == {"colour": "green", "n": 3}
        with pytest.raises(EventStoreError, match="registered event class"):
            store.append("future-stream", [event], None)

    # --- identifier guard ---

    @pytest.mark.parametrize(
        ("field", "value"),
        [("receipt_id", BSN), ("receipt_id", "1234.56.782"), ("registration", f"export {BSN}.csv")],
    )
    def test_a_bsn_in_a_payload_is_refused_and_not_echoed(
        self, store: EventStore, field: str, value: str
    ) -> None:
        with pytest.raises(EventStoreError) as refused:
            store.append("delivery-nkr-borst-2026", [receipt(1, **{field: value})], 0)
        assert f"examples.DeliveryReceipted.{field}" in str(refused.value)
        assert "123" not in str(refused.value)
        assert store.last_position() == 0

    def test_a_bsn_in_metadata_or_stream_name_is_refused(self, store: EventStore) -> None:
        with pytest.raises(EventStoreError, match=r"metadata\.actor"):
            store.append("delivery-nkr-borst-2026", [receipt(1)], 0, metadata={"actor": BSN})
        with pytest.raises(EventStoreError, match="stream name"):
            store.append(f"patient-{BSN}", [receipt(1)], 0)
        assert store.last_position() == 0

    def test_nine_digit_values_that_are_no_bsn_pass(self, store: EventStore) -> None:
        # 123456789 fails the eleven-test; integers (sizes, counts) are not checked at all.
        store.append(
            "delivery-nkr-borst-2026",
            [receipt(1, receipt_id="123456789", record_count=123456782)],
            0,
        )
        assert store.last_position() == 1

    # --- many processes at once ---

    def test_concurrent_processes_lose_nothing_and_positions_stay_gap_free(
        self, store_url: str
    ) -> None:
        workers, per_worker = 4, 50
        total = workers * per_worker
        open_event_store(store_url).close()  # schema in place; first-open races have their own test
        barrier = SPAWN.Barrier(workers)
        results = SPAWN.Queue()
        tail_results = SPAWN.Queue()
        writers_done = SPAWN.Event()
        writers = [
            SPAWN.Process(
                target=_append_worker,
                args=(store_url, w, per_worker, barrier, results),
                name=f"writer-{w}",
            )
            for w in range(workers)
        ]
        tail = SPAWN.Process(
            target=_tail_worker, args=(store_url, total, writers_done, tail_results), name="tail"
        )
        with running([*writers, tail]):
            written = dict(collect(results, writers, len(writers)))
            finish(writers)
            writers_done.set()
            [(seen, problems)] = collect(tail_results, [tail], 1)
            finish([tail])

        assert problems == []
        assert seen == list(range(1, total + 1))  # a reader following along never saw a gap
        with open_event_store(store_url) as store:
            records = list(store.read_all(batch_size=64))
        assert [r.position for r in records] == list(range(1, total + 1))
        all_ids = {str(r.event_id) for r in records}
        assert all_ids == {event_id for ids in written.values() for event_id in ids}
        for stream in {r.stream for r in records}:
            versions = [r.version for r in records if r.stream == stream]
            assert versions == list(range(1, len(versions) + 1)), stream
        assert len([r for r in records if r.stream == "delivery-shared"]) == 2 * per_worker

    def test_of_writers_racing_for_a_new_stream_exactly_one_wins(self, store_url: str) -> None:
        workers = 4
        open_event_store(store_url).close()
        barrier = SPAWN.Barrier(workers)
        results = SPAWN.Queue()
        processes = [
            SPAWN.Process(target=_conflict_worker, args=(store_url, w, barrier, results))
            for w in range(workers)
        ]
        with running(processes):
            outcomes = dict(collect(results, processes, workers))
            finish(processes)
        winners = [w for w, outcome in outcomes.items() if outcome == "won"]
        assert len(winners) == 1
        for worker, outcome in outcomes.items():
            if worker not in winners:
                assert (
                    "stream 'delivery-contended': expected version 0, but it is at version 1"
                    in outcome
                )
        with open_event_store(store_url) as store:
            assert store.stream_version("delivery-contended") == 1
            assert (
                store.read_stream("delivery-contended")[0].payload["receipt_id"]
                == f"rcpt-{winners[0]}"
            )

    def test_processes_opening_a_fresh_store_together_all_succeed(self, store_url: str) -> None:
        workers = 4
        barrier = SPAWN.Barrier(workers)
        results = SPAWN.Queue()
        processes = [
            SPAWN.Process(target=_first_open_worker, args=(store_url, w, barrier, results))
            for w in range(workers)
        ]
        with running(processes):
            finished = sorted(collect(results, processes, workers))
            finish(processes)
        assert finished == list(range(workers))
        with open_event_store(store_url) as store:
            assert [r.position for r in store.read_all()] == [1, 2, 3, 4]


class TestSqliteEventStore(EventStoreContract):
    @pytest.fixture
    def store_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'state' / 'events.sqlite3'}"

    def raw_execute(self, url: str, sql: str, params: Sequence[Any] = ()) -> None:
        connection = sqlite3.connect(url_path(url), isolation_level=None)
        try:
            connection.execute(sql, tuple(params))
        finally:
            connection.close()

    def test_the_file_is_in_wal_mode_with_append_only_triggers(
        self, store: EventStore, store_url: str
    ) -> None:
        connection = sqlite3.connect(url_path(store_url))
        try:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            triggers = {
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                )
            }
        finally:
            connection.close()
        assert triggers == {"event_log_refuse_update", "event_log_refuse_delete"}


def url_path(url: str) -> str:
    return "/" + url.removeprefix("sqlite:///").lstrip("/")


@pytest.mark.postgres
class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    def store_url(self, postgres_schema_url: str) -> str:
        return postgres_schema_url

    def raw_execute(self, url: str, sql: str, params: Sequence[Any] = ()) -> None:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(sql.replace("?", "%s"), list(params))  # type: ignore[arg-type]

    def test_the_database_refuses_truncate(self, store: EventStore, store_url: str) -> None:
        store.append("delivery-nkr-borst-2026", [receipt(1)], 0)
        with pytest.raises(psycopg.errors.RaiseException, match="append-only: TRUNCATE refused"):
            self.raw_execute(store_url, "TRUNCATE event_log")
        assert store.last_position() == 1

    def test_an_update_matching_no_rows_is_refused_too(
        self, store: EventStore, store_url: str
    ) -> None:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only: UPDATE refused"):
            self.raw_execute(store_url, "UPDATE event_log SET stream = 'x' WHERE false")

    def test_an_application_role_with_only_select_and_insert_can_use_the_log(
        self, store_url: str
    ) -> None:
        """The production setup in docs/event-log.md: an owner creates, the app only appends."""
        with owner_and_app_roles(store_url, "events") as roles:
            with open_event_store(roles.owner_url) as store:
                store.append("delivery-ltr-2026", [receipt(1)], 0)  # creates the schema
            with psycopg.connect(roles.owner_url, autocommit=True) as own:
                own.execute(f"GRANT SELECT, INSERT ON event_log TO {roles.app}")
                own.execute(f"GRANT SELECT ON event_log_schema TO {roles.app}")

            with open_event_store(roles.app_url) as store:
                store.append("delivery-ltr-2026", [receipt(2)], 1)
                assert [r.version for r in store.read_stream("delivery-ltr-2026")] == [1, 2]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                self.raw_execute(roles.app_url, "DELETE FROM event_log")

    def test_an_unreachable_server_is_an_event_store_error_without_credentials(self) -> None:
        with pytest.raises(EventStoreError) as failed:
            open_event_store("postgresql://someone:s3cret-pw@127.0.0.1:1/nowhere?connect_timeout=2")
        assert "127.0.0.1:1/nowhere" in str(failed.value)
        assert "s3cret-pw" not in str(failed.value)
