"""A real OpenSSH ``sshd`` on 127.0.0.1 for SFTP tests.

``sftp_server`` (function scope): sshd started from a temporary config on a
free port with fresh host and client keys; the client's known_hosts pins the
host key. The test user is whoever runs the tests. ``stop()``/``start()``
let fault tests drop the connection. Missing ``/usr/sbin/sshd`` fails with a
hint (``make system-deps``); it never skips.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


#: Ports tried before the fixture gives up: a free port can be taken by another test
#: process between the probe that found it and sshd's bind.
_PORT_TRIES = 4


class PortTaken(RuntimeError):
    """sshd exited while starting: its port was taken between the probe and its bind."""


@dataclass
class SftpServer:
    """Handle on the running sshd and what a client needs to reach it."""

    root: Path
    port: int
    user: str
    client_key: Path
    known_hosts: Path
    config: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url_prefix(self) -> str:
        """``sftp://user@127.0.0.1:port`` to which an absolute path is appended."""
        return f"sftp://{self.user}@127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start sshd in the foreground (-D) and wait until it accepts connections."""
        Path("/run/sshd").mkdir(exist_ok=True)
        log = (self.root.parent / "sshd.log").open("ab")
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.config)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:  # exited: most often its port was taken
                self.process = None
                raise PortTaken(f"sshd exited at start on port {self.port}; see {log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(4).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not start on port {self.port}; see {log.name}")

    def stop(self) -> None:
        """Stop sshd (and with it, any open session)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def running_sftp_server(tmp: Path) -> Iterator[SftpServer]:
    """Start sshd with its keys and root under ``tmp``; stopped on exit.

    Shared by the function-scoped ``sftp_server`` fixture and by modules that
    want one sshd for all their tests (a module-scoped fixture).
    """
    if not SSHD.exists():
        pytest.fail("OpenSSH server not installed: run `make system-deps` (apt-get openssh-server)")
    base = tmp / "sshd"
    base.mkdir()
    root = tmp / "sftp-root"
    root.mkdir()
    host_key, client_key = base / "host_ed25519", base / "client_ed25519"
    _keygen(host_key)
    _keygen(client_key)
    authorized = base / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    known_hosts, config = base / "known_hosts", base / "sshd_config"
    host_public = host_key.with_suffix(".pub").read_text().split()
    user = os.environ.get("USER") or getpass.getuser()
    for attempt in range(_PORT_TRIES):
        port = _free_port()
        config.write_text(_config(port, base, host_key, authorized))
        known_hosts.write_text(f"[127.0.0.1]:{port} {host_public[0]} {host_public[1]}\n")
        server = SftpServer(root, port, user, client_key, known_hosts, config)
        try:
            server.start()
            break
        except PortTaken:
            if attempt == _PORT_TRIES - 1:
                raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sftp_server(tmp_path: Path) -> Iterator[SftpServer]:
    """A running sshd serving SFTP for the current user, with pinned host key."""
    with running_sftp_server(tmp_path) as server:
        yield server


def _config(port: int, base: Path, host_key: Path, authorized: Path) -> str:
    """The sshd configuration: key-only SFTP on 127.0.0.1:``port``."""
    return "\n".join(
        [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {host_key}",
            f"PidFile {base / 'sshd.pid'}",
            f"AuthorizedKeysFile {authorized}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            "Subsystem sftp internal-sftp",
            "LogLevel ERROR",
            "",
        ]
    )
