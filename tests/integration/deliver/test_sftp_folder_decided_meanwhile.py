"""An SFTP version folder the receiver answered is never uploaded into (decision 0722).

The receiver may answer a killed attempt's folder (its manifest was whole)
between the channel's look for a receipt and its clearing of leftovers; and
a folder it refused earlier keeps its ``rejected.txt``, which the receiver
never reads again. Uploading into either replaces files and the manifest the
receiver already decided on, and reports the old answer as if about the new
upload. The channel reads the answer instead: the receipt is adopted (ours,
or a version taken by other content), the refusal is reported as the earlier
one, and nothing is uploaded. Real sshd on 127.0.0.1 and the real inbox
processing; only the moment the receiver answers is chosen by the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest

from aanlevering.counterparts.registry_holder.sftp_inbox import process_inbox_once
from aanlevering.counterparts.registry_holder.store import DeliveryStore
from aanlevering.deliver.channels import sftp as sftp_module
from aanlevering.deliver.channels.sftp import SftpChannel, SftpTarget
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest
from aanlevering.deliver.receipt import RejectedDelivery, RetryableDeliveryError, VersionTaken
from conftest import PATIENT, stage  # module level: a later import may find another conftest
from support.sshd import SftpServer, running_sftp_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    with running_sftp_server(tmp_path_factory.mktemp("sftp-decided")) as running:
        yield running


@dataclass(frozen=True)
class ReceiverAnswersAfterTheFirstLook(SftpChannel):
    """The real channel; the real receiver processes the inbox right after its first look."""

    inbox: Path | None = None
    store: DeliveryStore | None = None

    def _read_receipt(  # type: ignore[override]
        self, sftp: paramiko.SFTPClient, folder: str
    ) -> dict[str, object] | None:
        found = SftpChannel._read_receipt(sftp, folder)
        if self.inbox is not None and self.store is not None and not getattr(self, "_done", 0):
            object.__setattr__(self, "_done", 1)
            process_inbox_once(self.inbox, self.store, "demo-hospital")
        return found


def _target(server: SftpServer, inbox: Path) -> SftpTarget:
    return SftpTarget.from_url(f"{server.url_prefix}{inbox}", server.client_key, server.known_hosts)


def _killed_attempt(folder: Path, remote: Path) -> Manifest:
    """A whole earlier attempt of the same key with other content (one patient more)."""
    manifest = stage(folder, patients=[PATIENT, {**PATIENT, "id": "p-2"}])
    remote.mkdir()
    for item in manifest.files:
        (remote / item.name).write_bytes((folder / item.name).read_bytes())
    (remote / MANIFEST_NAME).write_text(manifest.to_json())
    return manifest


def test_a_receipt_appearing_before_the_clearing_is_adopted_and_nothing_uploaded(
    server: SftpServer, tmp_path: Path
) -> None:
    inbox = server.root / "raced"
    inbox.mkdir()
    rerun = stage(tmp_path / "rerun")
    remote = inbox / rerun.idempotency_key
    first = _killed_attempt(tmp_path / "first", remote)
    store = DeliveryStore(tmp_path / "receiver", "reference")
    channel = ReceiverAnswersAfterTheFirstLook(
        _target(server, inbox), receipt_timeout=1, poll_interval=0.1, inbox=inbox, store=store
    )

    with pytest.raises(VersionTaken, match="with other content"):
        channel.send(tmp_path / "rerun", rerun)

    # The receiver holds the first attempt; its folder still shows exactly that.
    assert [entry["idempotency_key"] for entry in store.ledger()] == [rerun.idempotency_key]
    stored = Manifest.from_json((remote / MANIFEST_NAME).read_text())
    assert stored.sha256() == first.sha256()
    first_patients = (tmp_path / "first" / "Patient.ndjson").read_bytes()
    assert (remote / "Patient.ndjson").read_bytes() == first_patients
    assert not list(remote.glob(".*.part"))


def test_an_earlier_refusal_is_reported_as_such_and_nothing_uploaded(
    server: SftpServer, tmp_path: Path
) -> None:
    inbox = server.root / "refused"
    inbox.mkdir()
    manifest = stage(tmp_path / "staging")
    remote = inbox / manifest.idempotency_key
    remote.mkdir()
    (remote / "rejected.txt").write_text("- Patient.ndjson line 1: an old reason\n")
    channel = SftpChannel(_target(server, inbox), receipt_timeout=1, poll_interval=0.1)

    with pytest.raises(RejectedDelivery, match=r"(?s)before this attempt.*an old reason"):
        channel.send(tmp_path / "staging", manifest)

    assert {p.name for p in remote.iterdir()} == {"rejected.txt"}


@pytest.mark.parametrize("planted", [".Patient.ndjson.part", f".{MANIFEST_NAME}.part"])
def test_a_part_link_planted_after_the_clearing_is_never_written_through(
    server: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planted: str
) -> None:
    inbox = server.root / f"planted{planted.count('manifest')}"
    inbox.mkdir()
    manifest = stage(tmp_path / "staging")
    outside = server.root / f"outside-{planted}.txt"
    outside.write_text("not part of any delivery\n")
    clear = sftp_module.clear_remote_leftovers

    def clear_then_plant(sftp: paramiko.SFTPClient, folder: str, manifest: Manifest) -> list[str]:
        removed = clear(sftp, folder, manifest)
        (Path(folder) / planted).symlink_to(outside)  # someone else with access to the inbox
        return removed

    monkeypatch.setattr(sftp_module, "clear_remote_leftovers", clear_then_plant)
    channel = SftpChannel(_target(server, inbox), receipt_timeout=0.5, poll_interval=0.1)
    with pytest.raises(RetryableDeliveryError, match="could not be made as a new file"):
        channel.send(tmp_path / "staging", manifest)

    assert outside.read_text() == "not part of any delivery\n"
    assert not (inbox / manifest.idempotency_key / MANIFEST_NAME).exists()
    monkeypatch.setattr(sftp_module, "clear_remote_leftovers", clear)
    with pytest.raises(RetryableDeliveryError, match="not receipted"):  # no receiver running
        channel.send(tmp_path / "staging", manifest)  # the next attempt clears the link first
    assert (inbox / manifest.idempotency_key / MANIFEST_NAME).is_file()
    assert outside.read_text() == "not part of any delivery\n"
