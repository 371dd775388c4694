"""An outbox receipt counts only as the receipt of the manifest and files beside it.

A ``receipt.json`` that names this delivery but sits beside another
manifest (placed by someone else, or left by a run that died between
writing the manifest and its receipt) says nothing about what the folder
holds: the delivery is placed and receipted afresh, never adopted.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

from aanlevering.deliver.channels.outbox import RECEIPT_NAME, OutboxChannel, outbox_folder
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest, verify_files
from conftest import PATIENT, stage


def test_a_receipt_beside_another_manifest_is_never_adopted(tmp_path: Path) -> None:
    channel = OutboxChannel(tmp_path / "outbox")
    other = stage(tmp_path / "other")  # what the folder holds
    channel.send(tmp_path / "other", other)
    ours = stage(tmp_path / "ours", patients=[PATIENT, {**PATIENT, "id": "p-2"}])
    assert ours.idempotency_key == other.idempotency_key and ours.sha256() != other.sha256()
    target = outbox_folder(channel.root, ours)
    stray = json.loads((target / RECEIPT_NAME).read_text())
    stray.update(
        receipt_id="placed-by-someone-else",
        manifest_sha256=ours.provider_sha256(),
        record_counts=dict(ours.record_counts),
    )
    (target / RECEIPT_NAME).write_text(json.dumps(stray))

    receipt = channel.send(tmp_path / "ours", ours)

    assert receipt.receipt_id != "placed-by-someone-else" and not receipt.duplicate
    stored = Manifest.from_json((target / MANIFEST_NAME).read_text())
    assert stored.sha256() == ours.sha256() and verify_files(target, ours) == []
    assert json.loads((target / RECEIPT_NAME).read_text()) == json.loads(
        json.dumps(asdict(replace(receipt)))
    )
