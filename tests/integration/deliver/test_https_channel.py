"""HTTPS delivery to the reference registry holder, a real process on 127.0.0.1.

Each fault scenario ends in exactly one receipted delivery at the receiver.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import RejectedDelivery, RetryableDeliveryError
from conftest import PATIENT, stage
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


def _channel(holder: RegistryHolder, timeout: float = 10.0) -> HttpsChannel:
    return HttpsChannel(holder.endpoint("ldtr"), holder.api_key, timeout=timeout)


def test_delivery_is_receipted_once_and_a_resend_is_deduplicated(
    registry_holder: RegistryHolder, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    channel = _channel(registry_holder)
    first = channel.send(folder, manifest)
    second = channel.send(folder, manifest)
    assert not first.duplicate
    assert second.duplicate and second.receipt_id == first.receipt_id
    assert [e["idempotency_key"] for e in registry_holder.ledger()] == [
        f"{registry_holder.hospital}.ldtr.2026-03.v1"
    ]


def test_receiver_down_then_up(own_registry_holder: RegistryHolder, tmp_path: Path) -> None:
    holder = own_registry_holder  # stopped and started: a process of its own
    folder = tmp_path / "staging"
    manifest = stage(folder)
    holder.stop()
    with pytest.raises(RetryableDeliveryError, match="unreachable"):
        _channel(holder).send(folder, manifest)
    holder.start()
    assert _channel(holder).send(folder, manifest).idempotency_key == manifest.idempotency_key
    assert len(holder.ledger()) == 1


def test_receiver_answers_500_then_times_out_then_succeeds(
    registry_holder: RegistryHolder, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    registry_holder.faults(fail_commits=1)
    with pytest.raises(RetryableDeliveryError, match="HTTP 500"):
        _channel(registry_holder).send(folder, manifest)
    registry_holder.faults(delay_commits=1, delay_seconds=3)
    with pytest.raises(RetryableDeliveryError, match="not completed"):
        _channel(registry_holder, timeout=1.0).send(folder, manifest)
    receipt = _channel(registry_holder).send(folder, manifest)
    # The delayed commit may have completed on the receiver after our timeout:
    # either way there is exactly one receipted delivery.
    assert receipt.idempotency_key == manifest.idempotency_key
    assert len(registry_holder.ledger()) == 1


def test_lost_receipt_is_recovered_without_a_second_delivery(
    registry_holder: RegistryHolder, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    registry_holder.faults(drop_receipt=1)
    with pytest.raises(RetryableDeliveryError):
        _channel(registry_holder).send(folder, manifest)
    receipt = _channel(registry_holder).send(folder, manifest)
    assert receipt.duplicate
    assert len(registry_holder.ledger()) == 1


def test_tampered_file_is_rejected(
    registry_holder: RegistryHolder, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    (folder / "Patient.ndjson").write_text(
        (folder / "Patient.ndjson").read_text().replace("1961", "1962")
    )
    with pytest.raises(RejectedDelivery, match="sha256 differs"):
        _channel(registry_holder).send(folder, manifest)
    assert registry_holder.ledger() == []


def test_patient_with_bsn_or_name_is_rejected(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    leaky = {
        **PATIENT,
        "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "111222333"}],
    }
    folder = tmp_path / "leaky"
    manifest = stage(folder, provider=registry_holder.hospital, patients=[leaky])
    with pytest.raises(RejectedDelivery, match="BSN identifier"):
        _channel(registry_holder).send(folder, manifest)


def test_wrong_api_key_is_refused(
    registry_holder: RegistryHolder, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    channel = HttpsChannel(registry_holder.endpoint("ldtr"), "not-the-key", timeout=5)
    with pytest.raises(RejectedDelivery, match="401"):
        channel.send(folder, manifest)


def test_correction_is_a_new_version_that_supersedes(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    channel = _channel(registry_holder)
    hospital = registry_holder.hospital
    channel.send(tmp_path / "v1", stage(tmp_path / "v1", version=1, provider=hospital))
    channel.send(tmp_path / "v2", stage(tmp_path / "v2", version=2, provider=hospital))
    ledger = registry_holder.ledger()
    assert [(e["version"], e["supersedes"]) for e in ledger] == [
        (1, None),
        (2, f"{hospital}.ldtr.2026-03.v1"),
    ]
