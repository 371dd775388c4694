"""A version that was sent and may be at the registry holder is never forgotten (decision 0840).

The record lookup across periods (decision 0465) stops a run whose records a
version of another period holds. It looked only at the latest receipted
version and the later ones the retry still sends (staged, failed): a version
sent and then stopped (0752, 0791: "it may have arrived at the registry
holder") was forgotten, so a record whose date moved into the run's period
was delivered a second time while the holder may keep it in the other period.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from aanlevering.catalogue.model import DataDictionary
from aanlevering.deliver.events import (
    DeliveryAborted,
    DeliveryAttemptFailed,
    DeliveryReceipted,
    DeliveryStaged,
    delivery_stream,
)
from aanlevering.deliver.ledger import load_ledger
from aanlevering.deliver.record_digests import (
    place_records,
    record_delivered_digests,
    record_digests,
)
from aanlevering.events.factory import open_event_store
from aanlevering.events.model import DomainEvent
from aanlevering.events.store import EventStore
from aanlevering.extract.model import ExtractedDataset
from aanlevering.fhir.ids import RecordKeys
from aanlevering.output.record_keys import hash_record_keys

REG = "dica-dsaa"
SECRET = b"s" * 32


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    """A real SQLite event log (the lookup is the same on PostgreSQL, decision 0497)."""
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as opened:
        yield opened


class _Dataset:
    def __init__(self, name: str) -> None:
        self.name = name
        self.key = ("operatie_id",)
        self.relations = ()


class _Dictionary:
    def dataset(self, name: str) -> _Dataset:
        return _Dataset(name)


def _digests(ids: list[str]) -> dict[str, np.ndarray]:
    dictionary: DataDictionary = _Dictionary()  # type: ignore[assignment]
    table = pa.table({"operatie_id": pa.array(ids, pa.string())})
    dataset = ExtractedDataset(
        "operatie", table, pa.table({"x": [0] * len(ids)}), pa.array([""] * len(ids))
    )
    hashed = hash_record_keys({"operatie": dataset}, dictionary, RecordKeys(SECRET, REG, "h"))
    return record_digests(hashed, dictionary)


def _key(period: str, version: int) -> str:
    return f"h.{REG}.{period}.v{version}"


def _staged(store: EventStore, period: str, version: int, ids: list[str], kind: str) -> None:
    if kind == "delivery":
        record_delivered_digests(store, REG, period, version, _digests(ids))
    _append(
        store,
        period,
        DeliveryStaged(
            registration=REG,
            period=period,
            version=version,
            idempotency_key=_key(period, version),
            channel="https",
            format="csv",
            kind=kind,
        ),
    )


def _append(store: EventStore, period: str, event: DomainEvent) -> None:
    store.append(delivery_stream(REG, period), [event], None)


def _sent(store: EventStore, period: str, version: int, *, retryable: bool = True) -> None:
    _append(
        store,
        period,
        DeliveryAttemptFailed(
            registration=REG,
            period=period,
            idempotency_key=_key(period, version),
            attempt=1,
            retryable=retryable,
            reason="connection reset after the commit",
        ),
    )


def _aborted(store: EventStore, period: str, version: int) -> None:
    _append(
        store,
        period,
        DeliveryAborted(
            registration=REG,
            period=period,
            idempotency_key=_key(period, version),
            reason="a negative register decision",
        ),
    )


def _receipted(store: EventStore, period: str, version: int) -> None:
    _append(
        store,
        period,
        DeliveryReceipted(
            registration=REG,
            period=period,
            version=version,
            idempotency_key=_key(period, version),
            receipt_id=f"r-{period}-{version}",
            receiver="dica",
            channel="https",
            received_at=f"{date(2026, 11, 1).isoformat()}T00:00:00+00:00",
        ),
    )


def _held(store: EventStore, ids: list[str]) -> list[tuple[str, int]]:
    placed = place_records(store, load_ledger(store), REG, "2026-Q2", _digests(ids))
    return [(h.period, h.version) for h in placed.held_elsewhere]


def test_a_version_sent_then_stopped_is_possibly_held(store: EventStore) -> None:
    _staged(store, "2026-Q1", 1, ["OK1"], "delivery")
    _sent(store, "2026-Q1", 1)
    _aborted(store, "2026-Q1", 1)  # sent, then stopped by a guard (0752)
    assert _held(store, ["OK1"]) == [("2026-Q1", 1)]


def test_a_correction_sent_then_stopped_is_held_beside_the_receipted_one(
    store: EventStore,
) -> None:
    _staged(store, "2026-Q1", 1, ["OK1"], "delivery")
    _receipted(store, "2026-Q1", 1)
    _staged(store, "2026-Q1", 2, ["OK2"], "delivery")
    _sent(store, "2026-Q1", 2)
    _aborted(store, "2026-Q1", 2)  # v2 may have replaced v1 at the holder, or not
    assert _held(store, ["OK2"]) == [("2026-Q1", 2)]
    assert _held(store, ["OK1"]) == [("2026-Q1", 1)]


def test_a_version_never_sent_or_refused_is_not_held(store: EventStore) -> None:
    _staged(store, "2026-Q1", 1, ["OK1"], "delivery")
    _aborted(store, "2026-Q1", 1)  # stopped before any attempt: nothing left the hospital
    _staged(store, "2026-Q3", 1, ["OK3"], "delivery")
    _sent(store, "2026-Q3", 1, retryable=False)  # refused by the registry holder
    assert _held(store, ["OK1", "OK3"]) == []


def test_a_later_receipted_version_or_retraction_supersedes_a_stopped_one(
    store: EventStore,
) -> None:
    _staged(store, "2026-Q1", 1, ["OK1"], "delivery")
    _sent(store, "2026-Q1", 1)
    _aborted(store, "2026-Q1", 1)
    _staged(store, "2026-Q1", 2, ["OK2"], "delivery")
    _receipted(store, "2026-Q1", 2)  # replaces whatever v1 left at the holder
    assert _held(store, ["OK1"]) == []
    _staged(store, "2026-Q3", 1, ["OK3"], "delivery")
    _sent(store, "2026-Q3", 1)
    _aborted(store, "2026-Q3", 1)
    _staged(store, "2026-Q3", 2, [], "retraction")
    _receipted(store, "2026-Q3", 2)  # the retraction withdraws the period
    assert _held(store, ["OK3"]) == []
    _staged(store, "2026-Q4", 1, ["OK4"], "delivery")
    _receipted(store, "2026-Q4", 1)
    _staged(store, "2026-Q4", 2, [], "retraction")
    _sent(store, "2026-Q4", 2)
    _aborted(store, "2026-Q4", 2)  # a retraction that may not have arrived withdraws nothing
    assert _held(store, ["OK4"]) == [("2026-Q4", 1)]
