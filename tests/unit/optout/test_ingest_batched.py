"""`optout ingest` writes thousands of patients in a few transactions, with the same outcome as
one stream at a time (the straightforward version), also when another writer gets in between."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest

from aanlevering.events import EventStore, open_event_store
from aanlevering.obligation.service import append_missing
from aanlevering.optout import service
from aanlevering.optout.events import optout_stream
from aanlevering.optout.service import optout_events, record_optouts
from aanlevering.optout.sources import OptOutEntry


def _entries(patients: int) -> list[OptOutEntry]:
    entries = []
    for number in range(patients):
        ref = f"{number:064x}"
        withdrawn = date(2027, 3, 1) if number % 7 == 0 else None
        scope = frozenset({"ldtr"}) if number % 3 == 0 else frozenset()
        entries.append(
            OptOutEntry(
                patient_ref=ref,
                registered_on=date(2027, 1, 1 + number % 28),
                withdrawn_on=withdrawn,
                all_registrations=not scope,
                registrations=scope,
                source="ehr-csv",
            )
        )
    return entries


LATER_ENTRY = OptOutEntry(  # another ingest's opt-out of the first patient, written meanwhile
    patient_ref=f"{0:064x}",
    registered_on=date(2027, 6, 1),
    withdrawn_on=None,
    all_registrations=True,
    registrations=frozenset(),
    source="consent",
)


class CountingStore:
    """The real store, counting its transactions; optionally another writer gets in first."""

    def __init__(self, store: EventStore, interloper: EventStore | None = None) -> None:
        self.store = store
        self.interloper = interloper
        self.transactions = 0

    def append_streams(self, batches: Any, **kwargs: Any) -> Any:
        self.transactions += 1
        if self.interloper is not None:
            stream, _events, _version = batches[0]
            self.interloper.append(stream, optout_events(LATER_ENTRY), expected_version=None)
            self.interloper = None
        return self.store.append_streams(batches, **kwargs)

    def append(self, *args: Any, **kwargs: Any) -> Any:
        self.transactions += 1
        return self.store.append(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _log(store: EventStore) -> set[tuple[str, str, str, str]]:
    return {
        (r.stream, str(r.event_id), r.event_type, repr(sorted(r.payload.items())))
        for r in store.read_all()
    }


def _one_stream_at_a_time(store: EventStore, entries: list[OptOutEntry]) -> None:
    for entry in entries:
        append_missing(store, optout_stream(entry.patient_ref), optout_events(entry))


def test_batches_write_what_one_stream_at_a_time_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "STREAMS_PER_COMMIT", 200)
    entries = _entries(900)
    with (
        open_event_store(f"sqlite:///{tmp_path / 'batched.sqlite3'}") as batched,
        open_event_store(f"sqlite:///{tmp_path / 'plain.sqlite3'}") as plain,
    ):
        counting = CountingStore(batched)
        result = record_optouts(cast(EventStore, counting), entries)
        _one_stream_at_a_time(plain, entries)

        withdrawals = sum(1 for e in entries if e.withdrawn_on is not None)
        assert (result.read, result.patients) == (900, 900)
        assert result.appended == 900 + withdrawals
        assert counting.transactions == -(-900 // service.STREAMS_PER_COMMIT)  # 5, not 900
        assert _log(batched) == _log(plain)

        again = record_optouts(cast(EventStore, counting), entries)
        assert (again.appended, again.already_recorded) == (0, 900 + withdrawals)
        assert counting.transactions == 5  # a re-ingest writes nothing at all


def test_a_concurrent_writer_leaves_the_same_log(tmp_path: Path) -> None:
    entries = _entries(300)
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    with open_event_store(url) as store, open_event_store(url) as other_writer:
        counting = CountingStore(store, interloper=other_writer)
        result = record_optouts(cast(EventStore, counting), entries)
        with open_event_store(f"sqlite:///{tmp_path / 'plain.sqlite3'}") as plain:
            _one_stream_at_a_time(plain, [LATER_ENTRY, *entries])
            assert _log(store) == _log(plain)
    withdrawals = sum(1 for e in entries if e.withdrawn_on is not None)
    # the other writer got in first: the batch failed as a whole and went stream by stream
    assert (result.appended, result.already_recorded) == (300 + withdrawals, 0)
    assert counting.transactions == 1 + 300
