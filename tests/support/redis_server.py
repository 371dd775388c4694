"""A real, throwaway Redis server on a free 127.0.0.1 port (the Celery broker of the tests).

Debian's ``redis-server`` (installed by ``make system-deps``,
scripts/ensure-system-packages.sh) run in the foreground with no persistence,
bound to loopback only; the Debian service is not used. A missing binary fails
the test with that hint; it never skips.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.servers import free_port


@dataclass
class RedisServer:
    """A started redis-server: its URL, process and log."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        """The broker URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        """True when the server answers PING with PONG (RESP over a plain socket)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_redis(root: Path, timeout: float = 20.0) -> RedisServer:
    """Start redis-server in ``root`` and wait (bounded) until it answers PING."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).is_file():
        pytest.fail(
            "redis-server not found: install it with `make system-deps` "
            "(scripts/ensure-system-packages.sh installs Debian's redis-server)"
        )
    root.mkdir(parents=True, exist_ok=True)
    log_path = root / "redis.log"
    for _attempt in range(3):
        port = free_port()
        argv = [
            binary, "--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
            "--save", "", "--appendonly", "no", "--dir", str(root), "--logfile", str(log_path),
        ]  # fmt: skip
        server = RedisServer(port, subprocess.Popen(argv, stdin=subprocess.DEVNULL), log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and server.process.poll() is None:
            if server.ping():
                return server
            time.sleep(0.05)
        server.stop()  # port taken between probe and bind, or it never answered: try again
    pytest.fail(f"redis-server did not answer PING within {timeout:.0f}s:\n{server.log_tail()}")
