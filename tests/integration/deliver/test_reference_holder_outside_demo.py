"""Outside demo mode the reference registry holder never yields a "delivered" (decision 0710).

A production install whose registry holder URL was never set (docker-compose.yml's
default is the bundled reference holder) got its receipts and recorded the delivery
as delivered, while the real registry holder received nothing. The reference holder
runs for real here; the hospital side runs without ``AANLEVERING_DEMO_MODE``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.events import delivery_stream
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.service import send_with_retries
from aanlevering.errors import ConfigError
from aanlevering.events.factory import open_event_store
from conftest import stage  # module level: a later import may find another conftest
from support.registry_holder import RegistryHolder


@pytest.fixture
def registry_holder(hospital_holder: RegistryHolder) -> RegistryHolder:
    """A hospital of its own on the module's shared holder (decision 0831)."""
    return hospital_holder


@pytest.fixture
def staged(registry_holder: RegistryHolder, tmp_path: Path) -> tuple[Path, Manifest]:
    """The conftest's staged delivery, from the test's hospital on the shared holder."""
    folder = tmp_path / "staging"
    return folder, stage(folder, provider=registry_holder.hospital)


def _event_types(tmp_path: Path) -> list[str]:
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    return [e.event_type for e in store.read_stream(delivery_stream("ldtr", "2026-03"))]


def _uploaded(holder: RegistryHolder) -> set[Path]:
    """Delivery files anywhere in the holder's storage (uploads and accepted, every hospital's)."""
    return set((holder.home / "storage").rglob("*.ndjson"))


def test_outside_demo_mode_no_file_is_sent_and_nothing_is_recorded_delivered(
    registry_holder: RegistryHolder,
    staged: tuple[Path, Manifest],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AANLEVERING_DEMO_MODE", raising=False)
    folder, manifest = staged
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    channel = HttpsChannel(registry_holder.endpoint("ldtr"), registry_holder.api_key)
    before = _uploaded(registry_holder)  # the earlier tests' hospitals' (a shared holder, 0831)

    with pytest.raises(ConfigError, match="AANLEVERING_DEMO_MODE=yes") as refused:
        send_with_retries(channel, folder, manifest, store, sleep=lambda _: None)

    assert "reference" in str(refused.value)
    assert refused.value.exit_code == 2
    assert _uploaded(registry_holder) == before  # stopped at the receipt lookup, before a PUT
    assert registry_holder.ledger() == []
    assert "deliver.DeliveryReceipted" not in _event_types(tmp_path)
    assert _event_types(tmp_path) == ["deliver.DeliveryAttemptFailed"]


def test_outside_demo_mode_the_listing_of_held_versions_is_refused(
    registry_holder: RegistryHolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AANLEVERING_DEMO_MODE", raising=False)
    channel = HttpsChannel(registry_holder.endpoint("ldtr"), registry_holder.api_key)
    with pytest.raises(ConfigError, match="AANLEVERING_DEMO_MODE=yes"):
        channel.held_versions(registry_holder.hospital, "ldtr", "2026-03")


def test_a_receipt_kept_from_demo_mode_is_not_adopted_outside_it(
    registry_holder: RegistryHolder,
    staged: tuple[Path, Manifest],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The holder receipted this key in demo mode; a production rerun must not adopt it."""
    folder, manifest = staged
    channel = HttpsChannel(registry_holder.endpoint("ldtr"), registry_holder.api_key)
    demo = channel.send(folder, manifest)
    assert demo.reference is True
    monkeypatch.setenv("AANLEVERING_DEMO_MODE", "no")
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    with pytest.raises(ConfigError, match="AANLEVERING_DEMO_MODE=yes"):
        send_with_retries(channel, folder, manifest, store, sleep=lambda _: None)
    assert "deliver.DeliveryReceipted" not in _event_types(tmp_path)


def test_every_answer_of_the_reference_holder_says_what_it_is(
    registry_holder: RegistryHolder,
) -> None:
    """Errors and public routes too: the hospital side can stop at any first answer."""
    base = registry_holder.base_url
    answers = [
        requests.get(f"{base}/health", timeout=5),
        requests.get(f"{base}/ledger", timeout=5),  # 401: no key
        requests.get(
            f"{base}/registrations/nope/deliveries",
            params={"period": "2026-03"},
            headers={"Authorization": f"Bearer {registry_holder.api_key}"},
            timeout=5,
        ),
    ]
    assert [a.headers.get("Aanlevering-Reference-Service") for a in answers] == [
        "registry-holder"
    ] * 3
    assert answers[0].json()["reference"] is True


def test_in_demo_mode_the_reference_holder_receipts_as_before(
    registry_holder: RegistryHolder, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    channel = HttpsChannel(registry_holder.endpoint("ldtr"), registry_holder.api_key)
    receipt = send_with_retries(channel, folder, manifest, store, sleep=lambda _: None)
    assert receipt.reference is True
    assert _event_types(tmp_path) == ["deliver.DeliveryReceipted"]
