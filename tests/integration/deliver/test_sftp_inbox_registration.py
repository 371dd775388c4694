"""An SFTP inbox takes deliveries for its own registration only (decision 0793).

The reference registry holder's inboxes are laid out one per hospital and
registration (``sftp-inbox/<hospital>/<registration>``). A delivery for
registration B dropped in registration A's inbox was taken and receipted, as
if it had come in where B's deliveries arrive; over HTTPS the registration is
in the URL and checked (decision 0724). Real OpenSSH sshd on 127.0.0.1, the
real channel and watcher.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.counterparts.common.audit import ChainedAuditLog
from aanlevering.counterparts.registry_holder.sftp_inbox import inbox_registration, start_watcher
from aanlevering.counterparts.registry_holder.store import DeliveryStore
from aanlevering.deliver.channels.sftp import SftpChannel, SftpTarget
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import RejectedDelivery
from support.registry_holder import HOSPITAL, RegistryHolder
from support.servers import free_port
from support.sshd import SftpServer

HOLDS = frozenset({"ldtr", "dica-dsaa"})


def _channel(server: SftpServer, inbox: Path) -> SftpChannel:
    target = SftpTarget.from_url(
        f"{server.url_prefix}{inbox}", server.client_key, server.known_hosts
    )
    return SftpChannel(target, receipt_timeout=20, poll_interval=0.1, connect_timeout=5)


def test_the_registry_holder_process_refuses_it_in_another_registrations_inbox(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    """The product's wiring: ``registry-holder serve`` with its demo config's inboxes."""
    from aanlevering.cli.registry_holder import write_demo_config

    folder, manifest = staged  # a delivery for ldtr
    home = tmp_path / "holder"
    write_demo_config(home, HOSPITAL, ["dica-dsaa", "ldtr"])
    holder = RegistryHolder(home, free_port(), (home / f"{HOSPITAL}.api-key").read_text().strip())
    inbox = home / "sftp-inbox" / HOSPITAL / "dica-dsaa"
    inbox.mkdir(parents=True, exist_ok=True)
    holder.start()
    try:
        with pytest.raises(RejectedDelivery, match="dica-dsaa"):
            _channel(sftp_server, inbox).send(folder, manifest)
    finally:
        holder.stop()
    assert not (inbox / manifest.idempotency_key / "receipt.json").exists()
    assert not list((home / "sftp-inbox" / HOSPITAL / "ldtr").glob("*/receipt.json"))


def test_a_delivery_for_another_registration_is_refused_by_the_inbox(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged  # a delivery for ldtr
    assert manifest.registration == "ldtr"
    inbox = sftp_server.root / "dica-dsaa"  # registration dica-dsaa's inbox
    inbox.mkdir()
    store = DeliveryStore(tmp_path / "receiver", "reference")
    audit = ChainedAuditLog(tmp_path / "audit.jsonl")
    stop = start_watcher(
        {inbox: "demo-hospital"},
        store,
        interval=0.1,
        audit=audit,
        registration_of=lambda path: inbox_registration(path, HOLDS),
    )
    try:
        with pytest.raises(RejectedDelivery, match="dica-dsaa"):
            _channel(sftp_server, inbox).send(folder, manifest)
    finally:
        stop.set()
    assert store.ledger() == []
    rejected = (inbox / manifest.idempotency_key / "rejected.txt").read_text("utf-8")
    assert "registration dica-dsaa" in rejected and "ldtr" in rejected, rejected
    assert not (inbox / manifest.idempotency_key / "receipt.json").exists()
    (entry,) = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert entry["outcome"] == "refused:403", entry


def test_the_inbox_of_the_registration_takes_it(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    store = DeliveryStore(tmp_path / "receiver", "reference")
    stop = start_watcher(
        {inbox: "demo-hospital"},
        store,
        interval=0.1,
        registration_of=lambda path: inbox_registration(path, HOLDS),
    )
    try:
        receipt = _channel(sftp_server, inbox).send(folder, manifest)
    finally:
        stop.set()
    assert receipt.idempotency_key == manifest.idempotency_key
    assert [e["idempotency_key"] for e in store.ledger()] == [manifest.idempotency_key]


def test_an_inbox_is_named_by_its_registration_only_when_the_holder_takes_it() -> None:
    assert inbox_registration(Path("/srv/sftp-inbox/demo-hospital/ldtr"), HOLDS) == "ldtr"
    assert inbox_registration(Path("/srv/sftp-inbox/demo-hospital/inbox"), HOLDS) is None
