"""The outbox channel: a folder for manual upload, with manifest and receipt."""

from __future__ import annotations

import json
from pathlib import Path

from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.manifest import Manifest, verify_files


def test_delivery_lands_in_registration_period_version_folder(
    tmp_path: Path, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    receipt = OutboxChannel(tmp_path / "outbox").send(folder, manifest)
    target = tmp_path / "outbox" / "ldtr" / "2026-03" / "v1"
    assert sorted(p.name for p in target.iterdir()) == [
        "Patient.ndjson",
        "QuestionnaireResponse.ndjson",
        "manifest.json",
        "receipt.json",
    ]
    assert verify_files(target, manifest) == []
    assert (
        json.loads((target / "manifest.json").read_text())["idempotency_key"] == "ldtr.2026-03.v1"
    )
    assert receipt.idempotency_key == "ldtr.2026-03.v1"
    assert not receipt.duplicate


def test_second_send_is_a_duplicate_with_the_first_receipt(
    tmp_path: Path, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    channel = OutboxChannel(tmp_path / "outbox")
    first = channel.send(folder, manifest)
    second = channel.send(folder, manifest)
    assert second.duplicate
    assert second.receipt_id == first.receipt_id
