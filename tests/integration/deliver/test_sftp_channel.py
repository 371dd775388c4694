"""SFTP delivery to a real OpenSSH sshd on 127.0.0.1, receipted by the inbox watcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.counterparts.common.audit import ChainedAuditLog, verify_chain
from aanlevering.counterparts.registry_holder.sftp_inbox import start_watcher
from aanlevering.counterparts.registry_holder.store import DeliveryStore
from aanlevering.deliver.channels.sftp import SftpChannel, SftpTarget
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import RejectedDelivery, RetryableDeliveryError, VersionTaken
from conftest import PATIENT, stage
from support.sshd import SftpServer


def _channel(server: SftpServer, inbox: Path, receipt_timeout: float = 20) -> SftpChannel:
    target = SftpTarget.from_url(
        f"{server.url_prefix}{inbox}", server.client_key, server.known_hosts
    )
    return SftpChannel(
        target, receipt_timeout=receipt_timeout, poll_interval=0.1, connect_timeout=5
    )


def test_upload_is_receipted_by_the_receiver_and_not_repeated(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    store = DeliveryStore(tmp_path / "receiver", "reference")
    audit = ChainedAuditLog(tmp_path / "audit.jsonl")
    stop = start_watcher({inbox: "demo-hospital"}, store, interval=0.1, audit=audit)
    try:
        receipt = _channel(sftp_server, inbox).send(folder, manifest)
        again = _channel(sftp_server, inbox).send(folder, manifest)
    finally:
        stop.set()
    entries = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(e["who"], e["endpoint"], e["outcome"]) for e in entries] == [
        ("demo-hospital", "sftp-inbox", "ok")
    ]
    assert entries[0]["delivery"] == manifest.idempotency_key and entries[0]["records"] == 2
    assert verify_chain(tmp_path / "audit.jsonl") == (1, [])
    assert receipt.idempotency_key == manifest.idempotency_key
    assert again.duplicate and again.receipt_id == receipt.receipt_id
    assert len(store.ledger()) == 1
    assert sorted(p.name for p in (inbox / manifest.idempotency_key).iterdir()) == [
        "Patient.ndjson",
        "QuestionnaireResponse.ndjson",
        "manifest.json",
        "receipt.json",
    ]


def test_connection_drop_then_retry_gives_one_receipted_delivery(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    sftp_server.stop()
    with pytest.raises(RetryableDeliveryError, match=r"SFTP to 127\.0\.0\.1"):
        _channel(sftp_server, inbox).send(folder, manifest)
    sftp_server.start()
    # Uploaded, but no receiver running yet: not receipted, so not counted.
    with pytest.raises(RetryableDeliveryError, match="not receipted"):
        _channel(sftp_server, inbox, receipt_timeout=1).send(folder, manifest)
    store = DeliveryStore(tmp_path / "receiver", "reference")
    stop = start_watcher({inbox: "demo-hospital"}, store, interval=0.1)
    try:
        receipt = _channel(sftp_server, inbox).send(folder, manifest)
    finally:
        stop.set()
    assert receipt.idempotency_key == manifest.idempotency_key
    assert len(store.ledger()) == 1


def test_unknown_host_key_is_refused(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged
    empty_known_hosts = tmp_path / "known_hosts"
    empty_known_hosts.write_text("")
    target = SftpTarget.from_url(
        f"{sftp_server.url_prefix}{sftp_server.root}", sftp_server.client_key, empty_known_hosts
    )
    # A host-key problem is permanent: a rejection, never retried as if the server were down.
    with pytest.raises(RejectedDelivery, match="not found in known_hosts"):
        SftpChannel(target, receipt_timeout=1, connect_timeout=5).send(folder, manifest)


def test_inbox_refuses_a_delivery_of_another_provider(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged  # made by demo-hospital
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    store = DeliveryStore(tmp_path / "receiver", "reference")
    audit = ChainedAuditLog(tmp_path / "audit.jsonl")
    stop = start_watcher({inbox: "hospital-b"}, store, interval=0.1, audit=audit)
    try:
        with pytest.raises(RejectedDelivery, match="not one of provider 'hospital-b'"):
            _channel(sftp_server, inbox).send(folder, manifest)
    finally:
        stop.set()
    assert store.ledger() == []
    # Refused before its manifest was accepted: neither registration nor key is logged.
    (entry,) = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert entry["who"] == "hospital-b" and entry["outcome"] == "refused:403"
    assert "registration" not in entry and "delivery" not in entry


def test_resend_of_other_content_under_a_receipted_key_is_never_adopted(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    store = DeliveryStore(tmp_path / "receiver", "reference")
    stop = start_watcher({inbox: "demo-hospital"}, store, interval=0.1)
    try:
        first = _channel(sftp_server, inbox).send(tmp_path / "a", stage(tmp_path / "a"))
        other = stage(tmp_path / "b", patients=[PATIENT, {**PATIENT, "id": "p-2"}])
        with pytest.raises(VersionTaken, match=first.receipt_id):
            _channel(sftp_server, inbox).send(tmp_path / "b", other)
    finally:
        stop.set()
    assert len(store.ledger()) == 1
