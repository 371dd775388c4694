"""A remote SFTP version folder a killed send left holds only the delivery sent after it.

Decision 0660, the SFTP side of 0651. A send killed while uploading ``v1``
(after some files, a ``.part`` copy, or the manifest but before the
receiver's receipt) leaves files in ``<inbox>/<key>/``. The rerun sends ``v1``
again under the same key, but its file set may differ (the content print
covers the clinical data, not the delivery format), and a registry holder
picking up the folder takes every file in it. One real sshd on 127.0.0.1 for
the module; the receiver is run once, synchronously, where a test needs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.counterparts.registry_holder.sftp_inbox import process_inbox_once
from aanlevering.counterparts.registry_holder.store import DeliveryStore
from aanlevering.deliver.channels.sftp import RECEIPT_NAME, SftpChannel, SftpTarget
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest, describe_files
from aanlevering.deliver.receipt import RejectedDelivery, RetryableDeliveryError
from conftest import PATIENT, stage
from support.sshd import SftpServer, running_sftp_server

PRECIOUS = "not part of any delivery\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """One sshd for every test here; each test uses its own inbox under its root."""
    with running_sftp_server(tmp_path_factory.mktemp("sftp-leftovers")) as running:
        yield running


def _channel(server: SftpServer, inbox: Path, receipt_timeout: float = 1) -> SftpChannel:
    target = SftpTarget.from_url(
        f"{server.url_prefix}{inbox}", server.client_key, server.known_hosts
    )
    return SftpChannel(
        target, receipt_timeout=receipt_timeout, poll_interval=0.1, connect_timeout=5
    )


def _with_encounters(folder: Path) -> Manifest:
    """The killed attempt: one more file (Encounter.ndjson) than the rerun will have."""
    manifest = stage(folder)
    (folder / "Encounter.ndjson").write_text(json.dumps({"resourceType": "Encounter"}) + "\n")
    records = {"Patient.ndjson": 1, "QuestionnaireResponse.ndjson": 1, "Encounter.ndjson": 1}
    files = describe_files(folder, records, {n: "application/fhir+ndjson" for n in records})
    return replace(manifest, files=files)


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_a_rerun_leaves_no_file_of_the_killed_attempt_beside_its_manifest(
    server: SftpServer, tmp_path: Path
) -> None:
    inbox = server.root / "rerun"
    inbox.mkdir()
    first = _with_encounters(tmp_path / "first")
    remote = inbox / first.idempotency_key
    remote.mkdir()
    # Killed after the manifest but before the receiver ran, and mid-copy of another file.
    for name in ("Encounter.ndjson", "Patient.ndjson"):
        (remote / name).write_bytes((tmp_path / "first" / name).read_bytes())
    (remote / MANIFEST_NAME).write_text(first.to_json())
    (remote / ".Observation.ndjson.part").write_text("half a file\n")
    outside = tmp_path / "outside.txt"
    outside.write_text(PRECIOUS)
    (remote / "linked.ndjson").symlink_to(outside)
    (remote / ".Patient.ndjson.part").symlink_to(outside)  # put() would write through it

    rerun = stage(tmp_path / "rerun", patients=[PATIENT, {**PATIENT, "id": "p-2"}])
    assert rerun.idempotency_key == first.idempotency_key
    with pytest.raises(RetryableDeliveryError, match="not receipted"):
        _channel(server, inbox).send(tmp_path / "rerun", rerun)  # receiver not running yet

    assert outside.read_text() == PRECIOUS  # the links went, never what they pointed at
    expected = {item.name for item in rerun.transferred()} | {MANIFEST_NAME}
    assert _names(remote) == expected
    assert Manifest.from_json((remote / MANIFEST_NAME).read_text()).sha256() == rerun.sha256()

    store = DeliveryStore(tmp_path / "receiver", "reference")
    assert process_inbox_once(inbox, store, "demo-hospital") == 1
    receipt = _channel(server, inbox).send(tmp_path / "rerun", rerun)
    assert receipt.duplicate and receipt.manifest_sha256 == rerun.provider_sha256()
    assert _names(remote) == expected | {RECEIPT_NAME}


def test_a_folder_with_a_receipt_or_a_refusal_is_never_cleared(
    server: SftpServer, tmp_path: Path
) -> None:
    inbox = server.root / "receipted"
    inbox.mkdir()
    manifest = stage(tmp_path / "staging")
    with pytest.raises(RetryableDeliveryError, match="not receipted"):
        _channel(server, inbox).send(tmp_path / "staging", manifest)
    store = DeliveryStore(tmp_path / "receiver", "reference")
    assert process_inbox_once(inbox, store, "demo-hospital") == 1
    remote = inbox / manifest.idempotency_key
    (remote / "notes.txt").write_text(PRECIOUS)  # the receiver's or anyone's: not ours
    before = _names(remote)

    again = _channel(server, inbox).send(tmp_path / "staging", manifest)

    assert again.duplicate and _names(remote) == before

    refused = stage(tmp_path / "refused", registration="other", version=3)
    folder = inbox / refused.idempotency_key
    folder.mkdir()
    (folder / "rejected.txt").write_text("- refused: not yours\n")
    (folder / "Encounter.ndjson").write_text(PRECIOUS)
    with pytest.raises(RejectedDelivery, match="not yours"):
        _channel(server, inbox).send(tmp_path / "refused", refused)
    assert (folder / "Encounter.ndjson").read_text() == PRECIOUS


def test_a_version_folder_that_is_a_link_is_refused_and_its_target_untouched(
    server: SftpServer, tmp_path: Path
) -> None:
    inbox = server.root / "linked"
    inbox.mkdir()
    manifest = stage(tmp_path / "staging")
    elsewhere = server.root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "audit.jsonl").write_text(PRECIOUS)
    (inbox / manifest.idempotency_key).symlink_to(elsewhere, target_is_directory=True)

    with pytest.raises(RejectedDelivery, match="symbolic link"):
        _channel(server, inbox).send(tmp_path / "staging", manifest)

    assert _names(elsewhere) == {"audit.jsonl"}
    assert (elsewhere / "audit.jsonl").read_text() == PRECIOUS


def test_a_sub_folder_is_left_with_a_warning(
    server: SftpServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = server.root / "sub"
    inbox.mkdir()
    manifest = stage(tmp_path / "staging")
    remote = inbox / manifest.idempotency_key
    (remote / "keep").mkdir(parents=True)
    (remote / "keep" / "x.ndjson").write_text(PRECIOUS)
    (remote / "stale.csv").write_text("a,b\n")

    with pytest.raises(RetryableDeliveryError, match="not receipted"):
        _channel(server, inbox).send(tmp_path / "staging", manifest)

    assert (remote / "keep" / "x.ndjson").read_text() == PRECIOUS
    assert not (remote / "stale.csv").exists()
    assert "folder keep is not part of a delivery" in caplog.text
    assert "stale.csv" in caplog.text
