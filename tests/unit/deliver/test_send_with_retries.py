"""The delivery service: retries with the same key, a guard before each attempt, events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.events import delivery_stream
from aanlevering.deliver.manifest import Manifest, describe_files, idempotency_key
from aanlevering.deliver.receipt import Receipt, RejectedDelivery, RetryableDeliveryError
from aanlevering.deliver.service import send_with_retries
from aanlevering.errors import DeliveryError, NoObligation
from aanlevering.events.factory import open_event_store
from aanlevering.events.store import EventStore


def _stage(folder: Path) -> Manifest:
    folder.mkdir()
    (folder / "data.csv").write_text("a;b\n1;2\n")
    return Manifest(
        idempotency_key=idempotency_key("demo-hospital", "dica-dsaa", "2026-Q1", 1),
        registration="dica-dsaa",
        registry_holder="dica",
        period="2026-Q1",
        period_start="2026-01-01",
        period_end="2026-04-01",
        version=1,
        dictionary_id="dsaa",
        dictionary_version="2026.1",
        format="csv",
        normalisation_profile="nl-2026.1",
        pseudonym_types=("NGGV",),
        key_versions={"NGGV": 1},
        ttp_mode="web",
        provider_id="demo-hospital",
        files=describe_files(folder, {"data.csv": 1}, {}),
        record_counts={"operatie": 1},
    )


@dataclass
class FlakyChannel:
    """Fails a number of times before handing over to the real outbox channel."""

    inner: OutboxChannel
    failures: int
    name: str = "flaky"
    keys_seen: list[str] = field(default_factory=list)

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        self.keys_seen.append(manifest.idempotency_key)
        if self.failures > 0:
            self.failures -= 1
            raise RetryableDeliveryError("receiver down")
        return self.inner.send(folder, manifest)


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")


def _types(store: EventStore, manifest: Manifest) -> list[str]:
    stream = delivery_stream(manifest.registration, manifest.period)
    return [e.event_type for e in store.read_stream(stream)]


def test_retries_with_the_same_key_until_receipted(tmp_path: Path, store: EventStore) -> None:
    manifest = _stage(tmp_path / "staging")
    channel = FlakyChannel(OutboxChannel(tmp_path / "outbox"), failures=2)
    delays: list[float] = []
    receipt = send_with_retries(channel, tmp_path / "staging", manifest, store, sleep=delays.append)
    assert receipt.idempotency_key == manifest.idempotency_key
    assert channel.keys_seen == [manifest.idempotency_key] * 3
    assert delays == [1.0, 2.0]
    assert _types(store, manifest) == [
        "deliver.DeliveryAttemptFailed",
        "deliver.DeliveryAttemptFailed",
        "deliver.DeliveryReceipted",
    ]


def test_gives_up_after_the_last_attempt_and_stays_unreceipted(
    tmp_path: Path, store: EventStore
) -> None:
    manifest = _stage(tmp_path / "staging")
    channel = FlakyChannel(OutboxChannel(tmp_path / "outbox"), failures=10)
    with pytest.raises(DeliveryError, match="not receipted after 3 attempts"):
        send_with_retries(
            channel, tmp_path / "staging", manifest, store, attempts=3, sleep=lambda _: None
        )
    assert "deliver.DeliveryReceipted" not in _types(store, manifest)
    assert not (tmp_path / "outbox").exists()


def test_guard_refusal_aborts_before_anything_is_sent(tmp_path: Path, store: EventStore) -> None:
    manifest = _stage(tmp_path / "staging")
    channel = FlakyChannel(OutboxChannel(tmp_path / "outbox"), failures=0)

    def negative_decision() -> None:
        raise NoObligation("registration dica-dsaa was rejected on 2026-03-01")

    with pytest.raises(NoObligation):
        send_with_retries(channel, tmp_path / "staging", manifest, store, guard=negative_decision)
    assert channel.keys_seen == []
    assert _types(store, manifest) == ["deliver.DeliveryAborted"]
    aborted = store.read_stream(delivery_stream("dica-dsaa", "2026-Q1"))[0]
    assert "rejected" in json.dumps(dict(aborted.payload))


def test_rejection_is_not_retried(tmp_path: Path, store: EventStore) -> None:
    manifest = _stage(tmp_path / "staging")

    @dataclass
    class Refusing:
        name: str = "refusing"
        calls: int = 0

        def send(self, folder: Path, manifest: Manifest) -> Receipt:
            self.calls += 1
            raise RejectedDelivery("sha256 differs")

    channel = Refusing()
    with pytest.raises(RejectedDelivery):
        send_with_retries(channel, tmp_path / "staging", manifest, store, sleep=lambda _: None)
    assert channel.calls == 1
