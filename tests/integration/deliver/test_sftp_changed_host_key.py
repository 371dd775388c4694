"""A server presenting another host key than the one pinned in known_hosts is refused.

Transport audit (0360-0364): the unknown-key case was tested, the changed-key
case (a man in the middle with its own key) was not.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aanlevering.deliver.channels.sftp import SftpChannel, SftpTarget
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import RejectedDelivery
from support.sshd import SftpServer


def test_a_different_host_key_than_the_pinned_one_is_a_rejection(
    sftp_server: SftpServer, staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged
    other = tmp_path / "other_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, blob = other.with_suffix(".pub").read_text().split()[:2]
    pinned = tmp_path / "known_hosts"
    pinned.write_text(f"[127.0.0.1]:{sftp_server.port} {kind} {blob}\n")
    target = SftpTarget.from_url(
        f"{sftp_server.url_prefix}{sftp_server.root}", sftp_server.client_key, pinned
    )
    with pytest.raises(RejectedDelivery, match="does not match known_hosts") as refused:
        SftpChannel(target, receipt_timeout=1, connect_timeout=5).send(folder, manifest)
    assert not list(sftp_server.root.iterdir())  # nothing was uploaded
    assert str(sftp_server.client_key) not in str(refused.value)
