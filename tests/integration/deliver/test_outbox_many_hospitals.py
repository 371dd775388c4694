"""Several hospitals delivering into one outbox root (decision 0400).

Each provider's deliveries live under ``<root>/<provider>/``: a second or
third hospital delivering the same registration, period and version gets its
own receipt, never a ReceiptMismatch and never the other hospital's files. A
delivery placed before the provider folder existed (the old layout) is still
found, so a rerun after the upgrade is a duplicate, not a second placement.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.deliver.channels.outbox import (
    RECEIPT_NAME,
    OutboxChannel,
    legacy_outbox_folder,
    outbox_folder,
)
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest, idempotency_key, verify_files
from aanlevering.deliver.receipt import ReceiptMismatch
from aanlevering.errors import DeliveryError
from conftest import PATIENT, stage


def _staged_for(folder: Path, provider: str, patient_id: str = "p-1") -> Manifest:
    """The small delivery of ``conftest.stage``, made by ``provider``."""
    manifest = stage(folder, patients=[{**PATIENT, "id": patient_id}])
    return replace(
        manifest,
        provider_id=provider,
        idempotency_key=idempotency_key(provider, "ldtr", "2026-03", 1),
    )


@pytest.mark.parametrize("hospitals", [2, 3])
def test_each_hospital_gets_its_own_folder_and_receipt(tmp_path: Path, hospitals: int) -> None:
    channel = OutboxChannel(tmp_path / "outbox")
    providers = [f"hospital-{chr(ord('a') + i)}" for i in range(hospitals)]
    receipts = {}
    for index, provider in enumerate(providers):
        manifest = _staged_for(tmp_path / provider, provider, patient_id=f"p-{index}")
        receipts[provider] = (channel.send(tmp_path / provider, manifest), manifest)
    assert len({r.receipt_id for r, _ in receipts.values()}) == hospitals
    for provider, (receipt, manifest) in receipts.items():
        assert receipt.provider == provider and not receipt.duplicate
        target = outbox_folder(channel.root, manifest)
        assert target == tmp_path / "outbox" / provider / "ldtr" / "2026-03" / "v1"
        assert verify_files(target, manifest) == []
        held = Manifest.from_json((target / MANIFEST_NAME).read_text())
        assert held.provider_id == provider
        assert json.loads((target / RECEIPT_NAME).read_text())["provider"] == provider
    # Nothing of one hospital sits in another's folder; the root holds only providers.
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == providers


def test_a_rerun_of_each_hospital_is_its_own_duplicate(tmp_path: Path) -> None:
    channel = OutboxChannel(tmp_path / "outbox")
    first = {}
    for provider in ("hospital-a", "hospital-b"):
        manifest = _staged_for(tmp_path / provider, provider)
        first[provider] = channel.send(tmp_path / provider, manifest)
    for provider in ("hospital-a", "hospital-b"):
        again = channel.send(tmp_path / provider, _staged_for(tmp_path / provider, provider))
        assert again.duplicate and again.receipt_id == first[provider].receipt_id


def test_a_delivery_in_the_old_layout_is_adopted_by_its_provider(tmp_path: Path) -> None:
    channel = OutboxChannel(tmp_path / "outbox")
    manifest = _staged_for(tmp_path / "a", "hospital-a")
    receipt = channel.send(tmp_path / "a", manifest)
    # Move it to where the outbox put deliveries before provider folders existed.
    legacy = legacy_outbox_folder(channel.root, manifest)
    legacy.parent.mkdir(parents=True)
    outbox_folder(channel.root, manifest).rename(legacy)

    again = channel.send(tmp_path / "a", manifest)

    assert again.duplicate and again.receipt_id == receipt.receipt_id
    assert not outbox_folder(channel.root, manifest).exists()  # not placed a second time


def test_another_hospitals_old_layout_delivery_is_neither_adopted_nor_a_mismatch(
    tmp_path: Path,
) -> None:
    channel = OutboxChannel(tmp_path / "outbox")
    theirs = _staged_for(tmp_path / "a", "hospital-a")
    channel.send(tmp_path / "a", theirs)
    legacy = legacy_outbox_folder(channel.root, theirs)
    legacy.parent.mkdir(parents=True)
    outbox_folder(channel.root, theirs).rename(legacy)

    ours = _staged_for(tmp_path / "b", "hospital-b", patient_id="p-9")
    receipt = channel.send(tmp_path / "b", ours)

    assert receipt.provider == "hospital-b" and not receipt.duplicate
    assert verify_files(outbox_folder(channel.root, ours), ours) == []
    assert json.loads((legacy / RECEIPT_NAME).read_text())["provider"] == "hospital-a"


def test_a_receipt_of_another_provider_in_our_folder_is_a_mismatch(tmp_path: Path) -> None:
    channel = OutboxChannel(tmp_path / "outbox")
    ours = _staged_for(tmp_path / "b", "hospital-b")
    channel.send(tmp_path / "b", ours)
    target = outbox_folder(channel.root, ours)
    planted = json.loads((target / RECEIPT_NAME).read_text())
    planted["provider"] = "hospital-a"
    (target / RECEIPT_NAME).write_text(json.dumps(planted))
    with pytest.raises(ReceiptMismatch, match="provider: expected 'hospital-b', got 'hospital-a'"):
        channel.send(tmp_path / "b", ours)


def test_a_provider_id_that_is_no_folder_name_is_refused(tmp_path: Path) -> None:
    manifest = _staged_for(tmp_path / "x", "hospital-x")
    with pytest.raises(DeliveryError, match="provider id"):
        outbox_folder(tmp_path / "outbox", replace(manifest, provider_id="../escape"))
