"""Indexed reads and per-stream projections give what a replay of the whole log gives (both stores).

Every read a run makes of the log (its period's ledger, its patients'
opt-outs, register decisions) is now an index lookup instead of a replay
(decision 0250). Each is pinned here against the straightforward version,
on a synthetic history of many registrations, months and opt-outs written
through the real store API, in SQLite and in a real PostgreSQL.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from aanlevering.deliver.events import (
    DeliveryAborted,
    DeliveryStaged,
    DeliveryVersionTaken,
    delivery_stream,
)
from aanlevering.deliver.ledger import load_ledger, load_period_ledger, project_ledger
from aanlevering.demo.event_history import HistoryShape, write_history
from aanlevering.errors import ConcurrencyConflict
from aanlevering.events import EventStore, open_event_store
from aanlevering.events.sqlite import SqliteEventStore
from aanlevering.obligation.events import RegistrationIncluded, RegistrationRejected, stream_name
from aanlevering.obligation.status import load_statuses, project_statuses
from aanlevering.optout import register as register_module
from aanlevering.optout.events import OPTOUT_EVENT_TYPES
from aanlevering.optout.register import OptOutRegister
from aanlevering.optout.rules import OptOutRules
from aanlevering.periods import Period

SHAPE = HistoryShape(registrations=3, months=5, patients_per_delivery=30, optouts=400, seed=7)
RULES = OptOutRules(effective_from=date(2021, 1, 1))
KNOWN = tuple(f"pr_{n:032x}" for n in range(1, 41))  # opted out and asked about


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    with open_event_store(url) as opened:
        write_history(opened, SHAPE, optout_refs=KNOWN, streams_per_commit=50)
        _odd_deliveries(opened)
        yield opened


def _odd_deliveries(store: EventStore) -> None:
    """A corrected, an aborted and a taken version, and register decisions, after the history."""
    registration, period = "hist-002", "2021-03"
    for version, extra in ((2, None), (3, "aborted"), (4, "taken")):
        key = f"demo-hospital.{registration}.{period}.v{version}"
        events: list[object] = [
            DeliveryStaged(
                registration=registration,
                period=period,
                version=version,
                idempotency_key=key,
                channel="https",
                format="csv",
                supersedes=f"demo-hospital.{registration}.{period}.v{version - 1}",
            )
        ]
        if extra == "aborted":
            events.append(
                DeliveryAborted(
                    registration=registration, period=period, idempotency_key=key, reason="no"
                )
            )
        if extra == "taken":
            events.append(
                DeliveryVersionTaken(
                    registration=registration,
                    period=period,
                    version=version,
                    idempotency_key=key,
                    receipt_id="r-x",
                    receiver="rh",
                    received_at="2021-05-01T00:00:00+00:00",
                )
            )
        store.append(delivery_stream(registration, period), events, None)  # type: ignore[arg-type]
    store.append(
        stream_name("hist-001"),
        [
            RegistrationIncluded(
                registration="hist-001",
                decided_on=date(2020, 6, 1),
                effective_from=date(2021, 1, 1),
                until=date(2031, 1, 1),
            ),
            RegistrationRejected(
                registration="hist-001",
                decided_on=date(2024, 2, 1),
                effective_from=date(2024, 3, 1),
            ),
        ],
        None,
    )
    store.append(
        stream_name("hist-003"),
        [
            RegistrationIncluded(
                registration="hist-003",
                decided_on=date(2020, 6, 1),
                effective_from=date(2021, 1, 1),
                until=date(2026, 1, 1),
            )
        ],
        None,
    )


def test_reading_by_type_is_the_whole_log_filtered(store: EventStore) -> None:
    everything = list(store.read_all())
    kinds = sorted({record.event_type for record in everything})
    assert len(kinds) >= 8
    for wanted in ([kinds[0]], kinds[:3], kinds, ["no.SuchType"]):
        for after in (0, everything[len(everything) // 2].position):
            expected = [r for r in everything if r.event_type in wanted and r.position > after]
            assert list(store.read_types(wanted, after)) == expected
            # the port's straightforward version (read_all, filtered) says the same
            assert list(EventStore.read_types(store, wanted, after)) == expected
        count = sum(r.event_type in wanted for r in everything)
        assert store.count_types(wanted) == count
        for at_most in (0, 1, count, count + 5):
            assert store.count_types(wanted, at_most=at_most) == min(count, at_most)
            assert EventStore.count_types(store, wanted, at_most=at_most) == min(count, at_most)
        for up_to in (None, 0, everything[len(everything) // 2].position):
            streams = {
                r.stream
                for r in everything
                if r.event_type in wanted and (up_to is None or r.position <= up_to)
            }
            assert store.count_streams(wanted, up_to_position=up_to) == len(streams)
            assert EventStore.count_streams(store, wanted, up_to_position=up_to) == len(streams)


def test_reading_streams_by_name_is_reading_them_one_by_one(store: EventStore) -> None:
    everything = list(store.read_all())
    names = sorted({record.stream for record in everything})
    random.Random(1).shuffle(names)
    asked = [*names[:60], "optout-pr_" + "f" * 32, names[0]]  # an unknown stream, a repeat
    expected = sorted((r for r in everything if r.stream in set(asked)), key=lambda r: r.position)
    assert store.read_streams(asked) == expected
    assert EventStore.read_streams(store, asked) == expected
    assert store.read_streams([]) == []


def test_a_periods_ledger_from_its_stream_is_the_replayed_ledger(store: EventStore) -> None:
    replayed = project_ledger(store.read_all())
    periods = {(e.registration, e.period) for e in replayed.rows()}
    assert len(periods) == SHAPE.registrations * SHAPE.months
    for registration, period in periods:
        own = load_period_ledger(store, registration, period)
        assert own.versions(registration, period) == replayed.versions(registration, period)
        assert own.current(registration, period) == replayed.current(registration, period)
    corrected = load_period_ledger(store, "hist-002", "2021-03").versions("hist-002", "2021-03")
    assert [(e.version, e.status) for e in corrected] == [
        (1, "receipted"),
        (2, "staged"),
        (3, "aborted"),
        (4, "receipted"),
    ]
    assert load_period_ledger(store, "hist-001", "2030-01").rows() == []
    # the whole ledger, read by type, is the replayed one too (retry, status page)
    assert load_ledger(store).rows() == replayed.rows()
    assert load_ledger(store).unreceipted() == replayed.unreceipted()


def test_register_status_by_type_is_the_replayed_status(store: EventStore) -> None:
    statuses = load_statuses(store)
    assert statuses == project_statuses(store.read_all())
    assert set(statuses) == {"hist-001", "hist-003"}


@pytest.mark.parametrize("read", ["patients-streams", "whole-register"])
def test_the_register_of_a_runs_patients_answers_as_the_whole_register(
    store: EventStore, read: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Force each way of reading: by the patients' streams, or every opt-out by type.
    if read == "whole-register":
        monkeypatch.setattr(store, "count_types", lambda *_args, **_kw: 0)
    else:
        monkeypatch.setattr(register_module, "LOOKUP_COST_RATIO", 10**9)
    replayed = OptOutRegister.from_records(store.read_all(), RULES)
    assert len(replayed) == SHAPE.optouts
    rng = random.Random(3)
    strangers = [f"pr_{rng.getrandbits(128):032x}" for _ in range(200)]
    asked = [*KNOWN[::2], *strangers]
    partial = OptOutRegister.load_for(store, asked, RULES)
    for ref in asked:
        assert partial.optouts_of(ref) == replayed.optouts_of(ref)
    for registration in ("hist-001", "hist-002"):
        for label in ("2021", "2023-06", "2025"):
            period = Period.parse(label)
            for as_of in (date(2022, 1, 1), date(2026, 3, 1)):
                full = replayed.exclusion_starts(registration, period, as_of)
                got = partial.exclusion_starts(registration, period, as_of)
                assert {r: d for r, d in got.items() if r in set(asked)} == {
                    r: d for r, d in full.items() if r in set(asked)
                }
                if read == "patients-streams":  # only the asked patients were read
                    assert set(got) <= set(asked)
    excluded = partial.exclusion_starts("hist-001", Period.parse("2025"), date(2026, 3, 1))
    assert set(excluded) & set(KNOWN) and not set(excluded) & set(strangers)
    assert OptOutRegister.load(store, RULES).summary(date(2026, 1, 1)) == replayed.summary(
        date(2026, 1, 1)
    )
    assert type(store).count_types(store, OPTOUT_EVENT_TYPES) >= SHAPE.optouts


def test_appending_to_many_streams_is_all_or_nothing_and_retries_return_the_stored(
    store: EventStore,
) -> None:
    before = store.last_position()
    included = RegistrationIncluded(
        registration="hist-009",
        decided_on=date(2020, 1, 1),
        effective_from=date(2021, 1, 1),
        until=date(2031, 1, 1),
    )
    rejected = RegistrationRejected(
        registration="hist-001", decided_on=date(2025, 1, 1), effective_from=date(2025, 1, 1)
    )
    with pytest.raises(ConcurrencyConflict, match="register-hist-001"):
        store.append_streams(
            [(stream_name("hist-009"), [included], 0), (stream_name("hist-001"), [rejected], 0)]
        )
    assert store.last_position() == before
    batches = [(stream_name("hist-009"), [included], 0), (stream_name("hist-009"), [rejected], 1)]
    written = store.append_streams(batches, metadata={"run_id": "r1"})
    assert [(r.stream, r.version, r.position) for r in written] == [
        ("register-hist-009", 1, before + 1),
        ("register-hist-009", 2, before + 2),
    ]
    assert store.append_streams(batches) == written  # a retry writes nothing
    assert store.last_position() == before + 2
    assert store.read_stream(stream_name("hist-009")) == written


def test_an_older_sqlite_log_gains_the_type_index_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as raw:
        from aanlevering.events.sqlite import _SCHEMA_V1

        for statement in _SCHEMA_V1:
            raw.execute(statement)
        raw.execute("PRAGMA user_version = 1")
    with SqliteEventStore(path) as opened:
        write_history(opened, HistoryShape(registrations=1, months=2, optouts=3))
        assert opened.count_types(OPTOUT_EVENT_TYPES) == 3
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1  # same stored schema
        plan = " ".join(
            str(row)
            for row in raw.execute(
                "EXPLAIN QUERY PLAN SELECT position FROM event_log "
                "WHERE event_type = 'x' AND position > 0 ORDER BY position"
            )
        )
        assert "event_log_type_position" in plan


def test_the_projections_document_read_by_type_is_the_replayed_document(
    store: EventStore,
) -> None:
    from aanlevering.catalogue import load_catalogue
    from aanlevering.pipeline.events import RunLockReleased, RunLockTaken, run_lock_stream
    from aanlevering.projections import build_projections, document_from_records

    lock = run_lock_stream("demo-hospital", "hist-001", "2021-02")
    common = {"provider_id": "demo-hospital", "registration": "hist-001", "period": "2021-02"}
    store.append(
        lock,
        [
            RunLockTaken(**common, run_id="r1", expires_at="2021-03-01T00:00:00+00:00"),
            RunLockReleased(**common, run_id="r1", outcome="validation-blocked"),
        ],
        None,
    )
    catalogue = load_catalogue(Path(__file__).resolve().parents[2] / "schemas" / "catalogue")
    on = date(2026, 3, 1)
    built = build_projections(store, catalogue, on)
    replayed = document_from_records(list(store.read_all()), store.last_position(), catalogue, on)
    assert built == replayed
    assert built["optouts"] == {"patients": SHAPE.optouts}
    assert len(built["deliveries"]) == SHAPE.registrations * SHAPE.months + 3


def test_an_application_role_opens_a_log_without_the_index_and_reads_stay_correct(
    postgres_schema_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A log created before the type index, opened by a role that may not add it."""
    import psycopg

    from support.postgres import owner_and_app_roles

    with owner_and_app_roles(postgres_schema_url, "idx") as roles:
        with open_event_store(roles.owner_url) as store:
            write_history(store, HistoryShape(registrations=1, months=2, optouts=5))
        with psycopg.connect(roles.owner_url, autocommit=True) as own:
            own.execute("DROP INDEX event_log_type_position")  # as an older release left it
            own.execute(f"GRANT SELECT, INSERT ON event_log TO {roles.app}")
            own.execute(f"GRANT SELECT ON event_log_schema TO {roles.app}")
        with caplog.at_level("WARNING"), open_event_store(roles.app_url) as store:
            everything = list(store.read_all())
            wanted = sorted(OPTOUT_EVENT_TYPES)
            assert list(store.read_types(wanted)) == [
                r for r in everything if r.event_type in wanted
            ]
        assert "no index event_log_type_position" in caplog.text
        with open_event_store(roles.owner_url):  # the owner adds it on its next open
            pass
        with psycopg.connect(roles.owner_url) as own:
            found = own.execute("SELECT to_regclass('event_log_type_position')").fetchone()
        assert found is not None and found[0] is not None
