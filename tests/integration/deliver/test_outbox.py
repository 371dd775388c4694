"""The outbox channel: a folder for manual upload, with manifest and receipt."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.manifest import Manifest, verify_files


def test_delivery_lands_in_registration_period_version_folder(
    tmp_path: Path, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    receipt = OutboxChannel(tmp_path / "outbox").send(folder, manifest)
    target = tmp_path / "outbox" / "demo-hospital" / "ldtr" / "2026-03" / "v1"
    assert sorted(p.name for p in target.iterdir()) == [
        "Patient.ndjson",
        "QuestionnaireResponse.ndjson",
        "manifest.json",
        "receipt.json",
    ]
    assert verify_files(target, manifest) == []
    assert (
        json.loads((target / "manifest.json").read_text())["idempotency_key"]
        == "demo-hospital.ldtr.2026-03.v1"
    )
    assert receipt.idempotency_key == "demo-hospital.ldtr.2026-03.v1"
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


def test_staged_files_are_linked_not_written_twice(
    tmp_path: Path, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    OutboxChannel(tmp_path / "outbox").send(folder, manifest)
    target = tmp_path / "outbox" / "demo-hospital" / "ldtr" / "2026-03" / "v1"
    for item in manifest.files:
        assert (target / item.name).stat().st_ino == (folder / item.name).stat().st_ino
    # Removing staging (as after the receipt) leaves the outbox whole.
    for item in manifest.files:
        (folder / item.name).unlink()
    assert verify_files(target, manifest) == []


def test_outbox_on_another_file_system_gets_copies(
    tmp_path: Path, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    shm = Path("/dev/shm")
    assert shm.is_dir() and shm.stat().st_dev != folder.stat().st_dev
    root = Path(tempfile.mkdtemp(dir=shm))
    try:
        OutboxChannel(root).send(folder, manifest)
        target = root / "demo-hospital" / "ldtr" / "2026-03" / "v1"
        assert verify_files(target, manifest) == []
        for item in manifest.files:
            assert (target / item.name).stat().st_ino != (folder / item.name).stat().st_ino
    finally:
        shutil.rmtree(root)
