"""A run's reads of one registration cost what that registration holds, not what the log holds.

The record lookup (decision 0465) needs the ledger of every period of the
run's registration. It read every registration's delivery facts, so a run
against a log ten times larger took a second and a half longer (decision
0497). These pin the prefix read and the single "last of a type" read
against the straightforward versions, in SQLite and in a real PostgreSQL,
on a synthetic history that includes a registration whose id extends
another's (``hist-001`` and ``hist-001-b``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from aanlevering.deliver.ledger import load_ledger, load_registration_ledger
from aanlevering.deliver.record_digests import _read, place_records
from aanlevering.demo.event_history import HistoryShape, write_history
from aanlevering.events import EventStore, open_event_store
from aanlevering.optout.events import OptOutsApplied

SHAPE = HistoryShape(
    registrations=3,
    months=4,
    patients_per_delivery=40,
    optouts=50,
    seed=11,
    prior_registration="hist-001-b",
    prior_periods=("2019", "2020"),
    prior_datasets=("complicatie", "operatie"),
    prior_records=300,
)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    with open_event_store(url) as opened:
        write_history(opened, SHAPE, streams_per_commit=40)
        yield opened


@pytest.mark.parametrize(
    "prefix",
    ["delivery-hist-001-", "delivery-hist-001-b-", "delivery-hist-0", "record-keys/", "zz-none-"],
)
def test_prefix_read_gives_what_the_full_scan_gives(store: EventStore, prefix: str) -> None:
    indexed = store.read_stream_prefix(prefix)
    straightforward = EventStore.read_stream_prefix(store, prefix)
    assert [r.position for r in indexed] == [r.position for r in straightforward]
    assert all(r.stream.startswith(prefix) for r in indexed)
    if prefix != "zz-none-":
        assert indexed


def test_registration_ledger_is_the_whole_ledgers_part(store: EventStore) -> None:
    whole = load_ledger(store)
    for registration in ("hist-001", "hist-001-b", "hist-003", "absent"):
        own = load_registration_ledger(store, registration)
        expected = {k: e for k, e in whole.entries.items() if e.registration == registration}
        assert own.entries == expected
    # The longer id shares the shorter's stream prefix and is still kept apart.
    assert {e.period for e in load_registration_ledger(store, "hist-001").entries.values()} == {
        "2021-01",
        "2021-02",
        "2021-03",
        "2021-04",
    }
    assert {e.period for e in load_registration_ledger(store, "hist-001-b").entries.values()} == {
        "2019",
        "2020",
    }


def test_last_of_a_type_is_the_last_the_scan_finds(store: EventStore) -> None:
    found = store.last_of_type(OptOutsApplied.event_type)
    scanned = EventStore.last_of_type(store, OptOutsApplied.event_type)
    assert found is not None and scanned is not None
    assert found.position == scanned.position
    assert store.last_of_type("no.SuchEvent") is None


def test_the_history_gives_the_record_lookup_real_digests(store: EventStore) -> None:
    """The benchmark's earlier periods are what a run of that registration looks records up in."""
    held = _read(store, "hist-001-b", "2019", 1)
    assert held is not None and set(held) == {"complicatie", "operatie"}
    assert all(len(values) == 300 for values in held.values())
    assert _read(store, "hist-002", "2021-03", 1) is not None
    ledger = load_registration_ledger(store, "hist-001-b")
    unheld = np.array([1, 2, 3], np.uint64)
    ours = {"operatie": np.sort(np.concatenate([held["operatie"][:7], unheld]))}
    placement = place_records(store, ledger, "hist-001-b", "2021", ours)
    assert [(h.period, h.total) for h in placement.held_elsewhere] == [("2019", 7)]


def test_postgres_has_the_byte_order_stream_index(postgres_schema_url: str) -> None:
    with open_event_store(postgres_schema_url):
        pass
    with psycopg.connect(postgres_schema_url) as connection:
        row = connection.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'event_log_stream_bytes' "
            "AND schemaname = current_schema()"
        ).fetchone()
    assert row is not None and "text_pattern_ops" in row[0]
