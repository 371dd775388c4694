"""A hospital's SFTP account makes symbolic links in its inbox: the watcher follows none.

Transport audit (decision 0361). The watcher runs as the registry holder and
writes ``.receipt.json.part`` and ``rejected.txt`` into the hospital's
delivery folder; it followed a link the hospital had put there, so a
hospital could make it overwrite any file the registry holder may write (its
audit log, its config, another hospital's folder). Links are made here over
SFTP against a real sshd, as a hostile hospital would.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import paramiko

from aanlevering.counterparts.registry_holder.sftp_inbox import process_inbox_once
from aanlevering.counterparts.registry_holder.store import DeliveryStore
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest
from support.sshd import SftpServer

PRECIOUS = "the registry holder's audit log\n"


@contextmanager
def _sftp(server: SftpServer) -> Iterator[paramiko.SFTPClient]:
    client = paramiko.SSHClient()
    client.load_host_keys(str(server.known_hosts))
    client.connect(
        "127.0.0.1",
        port=server.port,
        username=server.user,
        key_filename=str(server.client_key),
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
    )
    try:
        yield client.open_sftp()
    finally:
        client.close()


def _upload(
    sftp: paramiko.SFTPClient,
    folder: Path,
    manifest: Manifest,
    remote: str,
    links: dict[str, Path],
) -> None:
    """The delivery's files, then ``links`` (name -> target), then the manifest."""
    sftp.mkdir(remote)
    for item in manifest.transferred():
        if item.name not in links:
            sftp.put(str(folder / item.name), posixpath.join(remote, item.name))
    for name, target in links.items():
        sftp.symlink(str(target), posixpath.join(remote, name))
    with sftp.open(posixpath.join(remote, MANIFEST_NAME), "w") as handle:
        handle.write(manifest.to_json().encode("utf-8"))


def _victim(tmp_path: Path, name: str = "audit.jsonl") -> Path:
    victim = tmp_path / "registry-holder" / name
    victim.parent.mkdir(exist_ok=True)
    victim.write_text(PRECIOUS)
    return victim


def test_a_link_named_like_the_receipt_part_does_not_overwrite_its_target(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    victim = _victim(tmp_path)
    with _sftp(sftp_server) as sftp:
        remote = str(inbox / manifest.idempotency_key)
        _upload(sftp, folder, manifest, remote, {".receipt.json.part": victim})
    store = DeliveryStore(tmp_path / "receiver", "reference")
    process_inbox_once(inbox, store, "demo-hospital")
    assert victim.read_text() == PRECIOUS
    delivered = inbox / manifest.idempotency_key
    assert (delivered / "rejected.txt").is_file() and not (delivered / "rejected.txt").is_symlink()
    assert "symbolic link" in (delivered / "rejected.txt").read_text()
    assert not (delivered / "receipt.json").exists()
    assert store.ledger() == []


def test_a_dangling_link_named_rejected_creates_nothing_at_its_target(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    planted = tmp_path / "registry-holder" / "planted.txt"
    planted.parent.mkdir()
    with _sftp(sftp_server) as sftp:
        remote = str(inbox / manifest.idempotency_key)
        # Not this hospital's: the watcher refuses it and would write rejected.txt.
        broken = replace(manifest, provider_id="other-hospital")
        _upload(sftp, folder, broken, remote, {"rejected.txt": planted})
    process_inbox_once(inbox, DeliveryStore(tmp_path / "receiver", "reference"), "demo-hospital")
    assert not planted.exists()


def test_a_data_file_that_is_a_link_is_refused_not_stored(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    elsewhere = tmp_path / "elsewhere.ndjson"  # same content: checksums match
    elsewhere.write_bytes((folder / "Patient.ndjson").read_bytes())
    with _sftp(sftp_server) as sftp:
        remote = str(inbox / manifest.idempotency_key)
        _upload(sftp, folder, manifest, remote, {"Patient.ndjson": elsewhere})
    store = DeliveryStore(tmp_path / "receiver", "reference")
    process_inbox_once(inbox, store, "demo-hospital")
    rejected = inbox / manifest.idempotency_key / "rejected.txt"
    assert "Patient.ndjson" in rejected.read_text() and "symbolic link" in rejected.read_text()
    assert store.ledger() == []


def test_a_delivery_folder_that_is_a_link_is_left_alone(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    _, manifest = staged
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    # Another hospital's inbox, with a delivery waiting for its own watcher.
    other = sftp_server.root / "other" / manifest.idempotency_key
    other.mkdir(parents=True)
    (other / MANIFEST_NAME).write_text(manifest.to_json())
    with _sftp(sftp_server) as sftp:
        sftp.symlink(str(other), str(inbox / manifest.idempotency_key))
    store = DeliveryStore(tmp_path / "receiver", "reference")
    assert process_inbox_once(inbox, store, "demo-hospital") == 0
    assert sorted(p.name for p in other.iterdir()) == [MANIFEST_NAME]
    assert store.ledger() == []


def test_an_inbox_the_account_replaced_by_a_link_is_left_alone(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    """In compose the account owns the inbox's parent (decision 0922): it can swap the inbox.

    The sftp service's ``incoming/`` is the inbox volume, the account's; it can
    rename ``ldtr`` and put a link there to any folder of the registry holder's
    (the link is read in the holder's container), such as another hospital's inbox.
    """
    _, manifest = staged
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    # Another hospital's inbox, with a delivery waiting for its own watcher.
    other = sftp_server.root / "other" / manifest.idempotency_key
    other.mkdir(parents=True)
    (other / MANIFEST_NAME).write_text(manifest.to_json())
    with _sftp(sftp_server) as sftp:
        sftp.rename(str(inbox), str(inbox.with_name("ldtr.old")))
        sftp.symlink(str(other.parent), str(inbox))
    store = DeliveryStore(tmp_path / "receiver", "reference")
    assert process_inbox_once(inbox, store, "demo-hospital") == 0
    assert sorted(p.name for p in other.iterdir()) == [MANIFEST_NAME]
    assert store.ledger() == []
