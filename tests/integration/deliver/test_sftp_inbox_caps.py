"""The registry holder's per-delivery limits hold for its SFTP inbox as over HTTPS.

Decision 0473: the watcher refuses, with the 413 the HTTP interface answers, a
delivery folder holding more files or bytes than one delivery may, a file larger
than an upload may be, or a manifest larger than a commit may send, before it reads
the manifest or copies a byte into its storage. Uploaded over a real sshd on
loopback, as a hospital does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from aanlevering.counterparts.common.audit import ChainedAuditLog
from aanlevering.counterparts.registry_holder.config import ReceiverLimits
from aanlevering.counterparts.registry_holder.sftp_inbox import start_watcher
from aanlevering.counterparts.registry_holder.store import DeliveryStore
from aanlevering.deliver.channels.sftp import SftpChannel, SftpTarget
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import RejectedDelivery
from support.registry_holder import HOSPITAL, REGISTRATIONS, RegistryHolder
from support.servers import free_port
from support.sshd import SftpServer


def _channel(server: SftpServer, inbox: Path) -> SftpChannel:
    target = SftpTarget.from_url(
        f"{server.url_prefix}{inbox}", server.client_key, server.known_hosts
    )
    return SftpChannel(target, receipt_timeout=20, poll_interval=0.1, connect_timeout=5)


def _send(
    server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path, limits: ReceiverLimits
) -> tuple[DeliveryStore, Path]:
    folder, manifest = staged
    inbox = server.root / "ldtr"
    inbox.mkdir(exist_ok=True)
    store = DeliveryStore(tmp_path / "receiver", "reference")
    audit = tmp_path / "audit.jsonl"
    stop = start_watcher(
        {inbox: "demo-hospital"}, store, interval=0.1, audit=ChainedAuditLog(audit), limits=limits
    )
    try:
        _channel(server, inbox).send(folder, manifest)
    finally:
        stop.set()
    return store, audit


def _sizes(staged: tuple[Path, Manifest]) -> list[int]:
    folder, manifest = staged
    return [(folder / item.name).stat().st_size for item in manifest.transferred()]


@pytest.mark.parametrize(
    ("limits", "said"),
    [
        (lambda sizes, manifest: {"max_files_per_delivery": 1}, "at most 1 files"),
        (
            lambda sizes, manifest: {"max_delivery_bytes": sum(sizes) - 1},
            "together exceed max_delivery_bytes",
        ),
        (lambda sizes, manifest: {"max_file_bytes": max(sizes) - 1}, "a file is larger than"),
        (
            lambda sizes, manifest: {"max_manifest_bytes": len(manifest.to_json()) - 1},
            "manifest.json is larger than",
        ),
    ],
    ids=["files", "bytes", "file-bytes", "manifest-bytes"],
)
def test_a_delivery_past_a_limit_is_refused_and_nothing_stored(
    sftp_server: SftpServer,
    staged: tuple[Path, Manifest],
    tmp_path: Path,
    limits: object,
    said: str,
) -> None:
    chosen = limits(_sizes(staged), staged[1])  # type: ignore[operator]
    with pytest.raises(RejectedDelivery, match=said):
        _send(sftp_server, staged, tmp_path, ReceiverLimits(**chosen))
    store = DeliveryStore(tmp_path / "receiver", "reference")
    assert store.ledger() == []
    assert list((tmp_path / "receiver").rglob("*.ndjson")) == []  # nothing copied in
    (entry,) = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert entry["outcome"] == "refused:413"


def test_files_the_manifest_does_not_name_count_too(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    """A hospital account puts extra entries into the folder: they count as uploads do.

    Folders here: loose files an earlier, unreceipted attempt left are removed by
    the channel before it uploads (decision 0660); folders it leaves.
    """
    _, manifest = staged
    folder = sftp_server.root / "ldtr" / manifest.idempotency_key
    folder.mkdir(parents=True)
    for number in range(3):
        (folder / f".junk-{number}").mkdir()
    with pytest.raises(RejectedDelivery, match="at most 4 files"):
        _send(sftp_server, staged, tmp_path, ReceiverLimits(max_files_per_delivery=4))


def test_a_delivery_within_the_limits_is_receipted(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    sizes, manifest = _sizes(staged), staged[1]
    limits = ReceiverLimits(
        max_files_per_delivery=2,
        max_delivery_bytes=sum(sizes),
        max_file_bytes=max(sizes),
        max_manifest_bytes=len(manifest.to_json()),
    )
    store, _ = _send(sftp_server, staged, tmp_path, limits)
    assert [entry["idempotency_key"] for entry in store.ledger()] == [manifest.idempotency_key]


def test_the_served_registry_holder_gives_its_inbox_the_configs_limits(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    """``registry-holder serve`` with ``sftp_inboxes`` and ``limits`` in its config."""
    from aanlevering.cli.registry_holder import write_demo_config

    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    home = tmp_path / "holder"
    config_path = write_demo_config(home, HOSPITAL, REGISTRATIONS)
    config = yaml.safe_load(config_path.read_text())
    config["limits"] = {"max_files_per_delivery": 1}
    config["sftp_inboxes"] = {HOSPITAL: [str(inbox)]}
    config_path.write_text(yaml.safe_dump(config))
    holder = RegistryHolder(home, free_port(), (home / f"{HOSPITAL}.api-key").read_text().strip())
    holder.start()
    try:
        with pytest.raises(RejectedDelivery, match="at most 1 files"):
            _channel(sftp_server, inbox).send(*staged)
    finally:
        holder.stop()
    assert list(home.rglob("*.ndjson")) == []
