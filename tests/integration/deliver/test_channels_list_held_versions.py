"""Outbox and SFTP answer which versions of a period they hold, each provider its own (0460).

Real folders and a real sshd with the registry holder's inbox watcher: only
versions with this provider's receipt count; a folder without a receipt,
another provider's receipt, another period's key and an unreachable server
are never taken for versions held.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.counterparts.registry_holder.sftp_inbox import start_watcher
from aanlevering.counterparts.registry_holder.store import DeliveryStore
from aanlevering.deliver.channels.outbox import OutboxChannel, legacy_outbox_folder, outbox_folder
from aanlevering.deliver.channels.sftp import SftpChannel, SftpTarget
from aanlevering.deliver.manifest import Manifest, idempotency_key
from aanlevering.deliver.receipt import RetryableDeliveryError
from conftest import stage
from support.sshd import SftpServer

A, B = "demo-hospital", "hospital-b"


def _staged(folder: Path, provider: str, version: int, period: str = "2026-03") -> Manifest:
    manifest = stage(folder, version=version)
    earlier = idempotency_key(provider, "ldtr", period, version - 1) if version > 1 else None
    return replace(
        manifest,
        provider_id=provider,
        period=period,
        idempotency_key=idempotency_key(provider, "ldtr", period, version),
        supersedes=earlier,
    )


def test_the_outbox_lists_its_receipted_versions_of_the_provider_only(tmp_path: Path) -> None:
    channel = OutboxChannel(tmp_path / "outbox")
    for provider, version in ((A, 1), (A, 2), (B, 1), (B, 2), (B, 3)):
        folder = tmp_path / f"{provider}-{version}"
        channel.send(folder, _staged(folder, provider, version))
    other_period = _staged(tmp_path / "april", A, 3, period="2026-04")
    channel.send(tmp_path / "april", other_period)
    # A v3 placed but never receipted (the run died first): not held.
    unreceipted = _staged(tmp_path / "a-3", A, 3)
    shutil.copytree(tmp_path / "a-3", outbox_folder(channel.root, unreceipted))
    # A v4 in the layout before provider folders, with A's receipt: held.
    legacy = _staged(tmp_path / "a-4", A, 4)
    channel.send(tmp_path / "a-4", legacy)
    legacy_outbox_folder(channel.root, legacy).parent.mkdir(parents=True)
    outbox_folder(channel.root, legacy).rename(legacy_outbox_folder(channel.root, legacy))

    held = channel.held_versions(A, "ldtr", "2026-03")

    assert [(h.version, h.idempotency_key) for h in held.versions] == [
        (1, idempotency_key(A, "ldtr", "2026-03", 1)),
        (2, idempotency_key(A, "ldtr", "2026-03", 2)),
        (4, idempotency_key(A, "ldtr", "2026-03", 4)),
    ]
    assert held.latest is not None and held.latest.receipt_id.startswith("outbox-")
    assert [h.version for h in channel.held_versions(B, "ldtr", "2026-03").versions] == [1, 2, 3]
    assert OutboxChannel(tmp_path / "empty").held_versions(A, "ldtr", "2026-03").versions == ()


def test_the_sftp_inbox_lists_receipted_versions_and_a_down_server_is_an_error(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    target = SftpTarget.from_url(
        f"{sftp_server.url_prefix}{inbox}", sftp_server.client_key, sftp_server.known_hosts
    )
    channel = SftpChannel(target, receipt_timeout=20, poll_interval=0.1, connect_timeout=5)
    stop = start_watcher({inbox: A}, DeliveryStore(tmp_path / "receiver", "ref"), interval=0.1)
    try:
        for version in (1, 2):
            folder = tmp_path / f"v{version}"
            channel.send(folder, _staged(folder, A, version))
    finally:
        stop.set()
    # Uploaded, never receipted (no watcher running): not held.
    pending = _staged(tmp_path / "v3", A, 3)
    with pytest.raises(RetryableDeliveryError, match="not receipted"):
        replace(channel, receipt_timeout=0.5).send(tmp_path / "v3", pending)

    held = channel.held_versions(A, "ldtr", "2026-03")

    assert [h.version for h in held.versions] == [1, 2]
    assert held.versions[-1].receiver == "ref" and held.versions[-1].receipt_id
    assert channel.held_versions(A, "ldtr", "2026-04").versions == ()
    sftp_server.stop()
    with pytest.raises(RetryableDeliveryError, match=r"SFTP to 127\.0\.0\.1"):
        channel.held_versions(A, "ldtr", "2026-03")
