"""An outbox folder a killed send left holds only the delivery placed after it (decision 0651).

A run killed while placing ``v1`` (after some files, or after the manifest
but before the receipt) leaves files in the folder. The rerun sends ``v1``
again under the same key, but its file set may differ: the content print
covers the clinical data, not the delivery format (a registration switched
from CSV to FHIR NDJSON after the failed attempt), nor patients the TTP could
not pseudonymise then. Whoever uploads the folder by hand takes every file in
it, so a file of the earlier attempt must not stay beside the new manifest.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from aanlevering.deliver.channels.outbox import RECEIPT_NAME, OutboxChannel, outbox_folder
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest, describe_files, verify_files
from conftest import PATIENT, stage


def _with_encounters(folder: Path) -> Manifest:
    """The first attempt: one more file (Encounter.ndjson) than the rerun will have."""
    manifest = stage(folder)
    (folder / "Encounter.ndjson").write_text(json.dumps({"resourceType": "Encounter"}) + "\n")
    records = {"Patient.ndjson": 1, "QuestionnaireResponse.ndjson": 1, "Encounter.ndjson": 1}
    files = describe_files(folder, records, {n: "application/fhir+ndjson" for n in records})
    return replace(manifest, files=files)


def test_a_rerun_leaves_no_file_of_the_killed_attempt_beside_its_manifest(
    tmp_path: Path,
) -> None:
    channel = OutboxChannel(tmp_path / "outbox")
    first = _with_encounters(tmp_path / "first")
    channel.send(tmp_path / "first", first)
    target = outbox_folder(channel.root, first)
    (target / RECEIPT_NAME).unlink()  # killed between the manifest and its receipt
    (target / ".Observation.ndjson.part").write_text("half a file\n")  # killed mid-copy

    rerun = stage(tmp_path / "rerun", patients=[PATIENT, {**PATIENT, "id": "p-2"}])
    assert rerun.idempotency_key == first.idempotency_key
    receipt = channel.send(tmp_path / "rerun", rerun)

    expected = {item.name for item in rerun.transferred()} | {MANIFEST_NAME, RECEIPT_NAME}
    assert {p.name for p in target.iterdir()} == expected
    assert Manifest.from_json((target / MANIFEST_NAME).read_text()).sha256() == rerun.sha256()
    assert verify_files(target, rerun) == [] and not receipt.duplicate


def test_a_receipted_folder_is_never_emptied(tmp_path: Path) -> None:
    """A folder with its own receipt is adopted as it is; nothing in it is removed."""
    channel = OutboxChannel(tmp_path / "outbox")
    first = _with_encounters(tmp_path / "first")
    channel.send(tmp_path / "first", first)
    target = outbox_folder(channel.root, first)
    before = sorted(p.name for p in target.iterdir())

    again = channel.send(tmp_path / "first", first)

    assert again.duplicate and sorted(p.name for p in target.iterdir()) == before
