"""The test sshd starts on another port when its first one is taken.

Why: a free port found by a probe can be taken by another test process before sshd
binds it (tests run in two processes, each starting servers); sshd then exits, and
the fixture used to wait its full start-up time and fail the test that asked for it.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

import support.sshd as sshd_support
from support.sshd import PortTaken, SftpServer


def test_sshd_on_a_taken_port_stops_at_once_with_port_taken(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = tmp_path / "sshd_config"
        text = sftp_server.config.read_text().replace(f"Port {sftp_server.port}", f"Port {port}")
        config.write_text(text.replace("sshd.pid", "other.pid"))
        other = SftpServer(
            sftp_server.root,
            port,
            sftp_server.user,
            sftp_server.client_key,
            sftp_server.known_hosts,
            config,
        )
        started = time.monotonic()
        with pytest.raises(PortTaken, match=f"port {port}"):
            other.start()
        assert time.monotonic() - started < 10  # not the full start-up wait
        assert other.process is None


def test_the_fixture_moves_on_when_its_first_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    ports = iter([taken])
    original = sshd_support._free_port
    monkeypatch.setattr(sshd_support, "_free_port", lambda: next(ports, None) or original())
    fixture = sshd_support.sftp_server.__wrapped__(tmp_path)  # type: ignore[attr-defined]
    try:
        server = next(fixture)
        assert server.port != taken
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            assert sock.recv(4) == b"SSH-"
        assert f"[127.0.0.1]:{server.port} " in server.known_hosts.read_text()
    finally:
        fixture.close()
        holder.close()
