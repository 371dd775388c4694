"""Receipts are bound to content: a receipt of another hospital or content is never success."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.events import delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.deliver.manifest import Manifest, describe_files, idempotency_key
from aanlevering.deliver.receipt import (
    Receipt,
    ReceiptMismatch,
    VersionTaken,
    receipt_problems,
)
from aanlevering.deliver.service import send_with_retries
from aanlevering.events.factory import open_event_store
from aanlevering.events.store import EventStore


def _stage(folder: Path, provider: str = "hospital-a", rows: int = 1) -> Manifest:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.csv").write_text("a;b\n" + "1;2\n" * rows)
    return Manifest(
        idempotency_key=idempotency_key(provider, "dica-dsaa", "2026-Q1", 1),
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
        provider_id=provider,
        files=describe_files(folder, {"data.csv": rows}, {}),
        record_counts={"operatie": rows},
    )


def _receipt_of(manifest: Manifest, **changes: object) -> Receipt:
    receipt = Receipt(
        idempotency_key=manifest.idempotency_key,
        receipt_id="r-1",
        received_at="2026-11-22T10:00:00+00:00",
        receiver="reference-registry-holder",
        channel="fixed",
        record_counts=dict(manifest.record_counts),
        provider=manifest.provider_id,
        manifest_sha256=manifest.sha256(),
    )
    return replace(receipt, **changes)  # type: ignore[arg-type]


@dataclass
class FixedReceipt:
    """A channel whose receiver answers with a given receipt, whatever was sent."""

    receipt: Receipt
    name: str = "fixed"

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        return self.receipt


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")


def _types(store: EventStore) -> list[str]:
    return [e.event_type for e in store.read_stream(delivery_stream("dica-dsaa", "2026-Q1"))]


def test_key_names_the_provider() -> None:
    assert idempotency_key("hospital-a", "ldtr", "2026-03", 2) == "hospital-a.ldtr.2026-03.v2"
    assert idempotency_key("hospital-a", "ldtr", "2026-03", 1) != idempotency_key(
        "hospital-b", "ldtr", "2026-03", 1
    )


def test_manifest_digest_ignores_only_the_creation_time(tmp_path: Path) -> None:
    manifest = _stage(tmp_path / "a")
    assert replace(manifest, created_at="2000-01-01").sha256() == manifest.sha256()
    assert replace(manifest, record_counts={"operatie": 2}).sha256() != manifest.sha256()
    assert replace(manifest, provider_id="hospital-b").sha256() != manifest.sha256()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"provider": "hospital-b"}, "provider: expected 'hospital-a', got 'hospital-b'"),
        ({"idempotency_key": "hospital-b.dica-dsaa.2026-Q1.v1"}, "idempotency key"),
        ({"manifest_sha256": "0" * 64}, "manifest sha256"),
        ({"record_counts": {"operatie": 7}}, "record counts"),
    ],
)
def test_a_receipt_that_differs_in_anything_is_a_failed_delivery(
    tmp_path: Path, store: EventStore, changes: dict[str, object], named: str
) -> None:
    manifest = _stage(tmp_path / "staging")
    channel = FixedReceipt(_receipt_of(manifest, **changes))
    with pytest.raises(ReceiptMismatch, match=named) as raised:
        send_with_retries(channel, tmp_path / "staging", manifest, store, sleep=lambda _: None)
    assert "NOT recorded as delivered" in str(raised.value)
    assert "deliver.DeliveryReceipted" not in _types(store)
    assert _types(store) == ["deliver.DeliveryAttemptFailed"]


def test_the_matching_receipt_is_recorded_with_provider_and_digest(
    tmp_path: Path, store: EventStore
) -> None:
    manifest = _stage(tmp_path / "staging")
    assert not receipt_problems(_receipt_of(manifest), manifest)
    send_with_retries(FixedReceipt(_receipt_of(manifest)), tmp_path / "staging", manifest, store)
    receipted = store.read_stream(delivery_stream("dica-dsaa", "2026-Q1"))[-1]
    assert receipted.payload["provider"] == "hospital-a"
    assert receipted.payload["manifest_sha256"] == manifest.sha256()


def test_outbox_never_adopts_the_receipt_of_other_content_under_the_same_key(
    tmp_path: Path, store: EventStore
) -> None:
    outbox = OutboxChannel(tmp_path / "outbox")
    first = _stage(tmp_path / "first", rows=1)
    old = outbox.send(tmp_path / "first", first)
    # The home is wiped: the same key comes again, with other content.
    second = _stage(tmp_path / "second", rows=3)
    assert second.idempotency_key == first.idempotency_key
    with pytest.raises(VersionTaken, match="other content") as raised:
        send_with_retries(outbox, tmp_path / "second", second, store, sleep=lambda _: None)
    assert raised.value.receipt is not None and raised.value.receipt.receipt_id == old.receipt_id
    assert "deliver.DeliveryReceipted" not in _types(store)
    held = tmp_path / "outbox/hospital-a/dica-dsaa/2026-Q1/v1/receipt.json"
    stored = json.loads(held.read_text())
    assert stored["receipt_id"] == old.receipt_id  # the earlier delivery is left alone


def test_a_taken_version_makes_the_ledger_plan_the_next_one(
    tmp_path: Path, store: EventStore
) -> None:
    from aanlevering.deliver.events import DeliveryStaged

    outbox = OutboxChannel(tmp_path / "outbox")
    outbox.send(tmp_path / "first", _stage(tmp_path / "first", rows=1))
    second = _stage(tmp_path / "second", rows=3)
    store.append(
        delivery_stream("dica-dsaa", "2026-Q1"),
        [
            DeliveryStaged(
                registration="dica-dsaa",
                period="2026-Q1",
                version=1,
                idempotency_key=second.idempotency_key,
                channel="outbox",
                format="csv",
                content_sha256="fingerprint-of-second",
                provider="hospital-a",
            )
        ],
        None,
    )
    with pytest.raises(VersionTaken):
        send_with_retries(outbox, tmp_path / "second", second, store, sleep=lambda _: None)
    entry = load_ledger(store).current("dica-dsaa", "2026-Q1")
    assert entry is not None
    # Receipted at the receiver with content this log never had: a rerun is version 2.
    assert entry.status == "receipted" and entry.content_sha256 == ""
