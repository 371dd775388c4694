"""A receipt that says ``reference: true`` is never recorded as a delivery outside demo mode.

Whatever channel brings it (the reference holder's SFTP inbox, the TTP's forwarding
in local mode, an HTTPS holder behind a proxy that drops headers), the receipt of
the project's reference registry holder means no registry received anything
(decision 0710). The channel here is the real outbox, whose receipt is marked as
the reference holder's would be.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.events import delivery_stream
from aanlevering.deliver.manifest import Manifest, describe_files, idempotency_key
from aanlevering.deliver.receipt import InvalidReceipt, Receipt, VersionTaken
from aanlevering.deliver.service import send_with_retries
from aanlevering.errors import ConfigError
from aanlevering.events.factory import open_event_store
from aanlevering.events.store import EventStore


def _stage(folder: Path) -> Manifest:
    folder.mkdir()
    (folder / "data.csv").write_text("a;b\n1;2\n")
    return Manifest(
        idempotency_key=idempotency_key("ziekenhuis-oost", "dica-dsaa", "2026-Q1", 1),
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
        provider_id="ziekenhuis-oost",
        files=describe_files(folder, {"data.csv": 1}, {}),
        record_counts={"operatie": 1},
    )


@dataclass
class ReferenceMarked:
    """The outbox's own receipt, marked as the reference holder marks every receipt."""

    inner: OutboxChannel
    taken: bool = False
    name: str = "sftp"

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        receipt = replace(self.inner.send(folder, manifest), reference=True)
        if self.taken:
            raise VersionTaken("held with other content", receipt)
        return receipt


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")


def _types(store: EventStore, manifest: Manifest) -> list[str]:
    stream = delivery_stream(manifest.registration, manifest.period)
    return [e.event_type for e in store.read_stream(stream)]


@pytest.mark.parametrize("taken", [False, True], ids=["receipt", "version-taken"])
def test_outside_demo_mode_a_reference_receipt_is_recorded_as_a_failed_attempt_only(
    tmp_path: Path, store: EventStore, monkeypatch: pytest.MonkeyPatch, taken: bool
) -> None:
    monkeypatch.delenv("AANLEVERING_DEMO_MODE", raising=False)
    manifest = _stage(tmp_path / "staged")
    channel = ReferenceMarked(OutboxChannel(tmp_path / "outbox"), taken=taken)
    with pytest.raises(ConfigError, match="AANLEVERING_DEMO_MODE=yes"):
        send_with_retries(channel, tmp_path / "staged", manifest, store, sleep=lambda _: None)
    assert _types(store, manifest) == ["deliver.DeliveryAttemptFailed"]


def test_in_demo_mode_a_reference_receipt_is_a_delivery(tmp_path: Path, store: EventStore) -> None:
    manifest = _stage(tmp_path / "staged")
    channel = ReferenceMarked(OutboxChannel(tmp_path / "outbox"))
    receipt = send_with_retries(channel, tmp_path / "staged", manifest, store)
    assert receipt.reference is True
    assert _types(store, manifest) == ["deliver.DeliveryReceipted"]


@pytest.mark.parametrize("mark", ["true", 1, None, "yes"])
def test_a_reference_mark_that_is_no_json_boolean_makes_no_receipt(mark: object) -> None:
    raw = {
        "idempotency_key": "k",
        "receipt_id": "r",
        "received_at": "2026-04-01T00:00:00+00:00",
        "receiver": "dica",
        "reference": mark,
    }
    with pytest.raises(InvalidReceipt, match="reference: expected true or false"):
        Receipt.from_mapping(raw, "https")
