"""Start a real HTTP server as a subprocess on a free 127.0.0.1 port and wait until it is healthy.

Used by integration tests of the reference counterparties (and any other
service the tests run for real). The wait is bounded and polls the health
endpoint; a server that dies or never becomes healthy fails the test with the
tail of its log.

    with running_server(["python", "-m", "pkg", "serve", "--port", "{port}"]) as server:
        requests.get(server.url + "/health")
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import requests

from support.forked_cli import ForkedCli, cli_arguments, start_cli

#: The interpreter of the test run, so servers get the same virtualenv.
PYTHON = sys.executable
#: A server's process: the product's CLI forked from the zygote, or another program.
Process = subprocess.Popen[bytes] | ForkedCli


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    """A started server: its URL, process and log file."""

    url: str
    port: int
    process: Process
    log_path: Path
    #: What the health poll verifies the server certificate with (https only).
    verify: str | bool = True

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's combined stdout/stderr."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        return int(self.process.returncode)


def wait_until_healthy(
    server: ServerProcess, health_path: str = "/health", timeout: float = 30.0
) -> None:
    """Poll the health endpoint until it answers 200; RuntimeError with the log otherwise."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"server exited with {server.process.returncode} before it was healthy:\n"
                f"{server.log_tail()}"
            )
        with contextlib.suppress(requests.RequestException):
            answer = requests.get(server.url + health_path, timeout=1.0, verify=server.verify)
            if answer.status_code == 200:
                return
        time.sleep(delay)  # bounded poll of a condition, not a fixed wait
        delay = min(delay * 2, 0.25)
    server.stop()
    raise RuntimeError(f"server not healthy within {timeout:.0f}s:\n{server.log_tail()}")


def _start(
    args: Sequence[str], log: IO[bytes], *, env: Mapping[str, str], cwd: Path | None
) -> Process:
    """The server process: forked from the CLI zygote when it is the product's CLI
    (decision 0955), else started as it is; its stdout and stderr go to ``log``."""
    cli = cli_arguments(args)
    if cli is None:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    with open(os.devnull, "rb") as nothing:
        return start_cli(
            cli,
            env=env,
            stdin=nothing.fileno(),
            stdout=log.fileno(),
            stderr=log.fileno(),
            cwd=cwd,
        )


def start_server(
    argv: Sequence[str],
    *,
    log_path: Path,
    health_path: str = "/health",
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30.0,
    attempts: int = 3,
    scheme: str = "http",
    verify: str | bool = True,
) -> ServerProcess:
    """Start ``argv`` (``{port}`` is replaced by a free port) and wait for its health endpoint.

    Retries on a fresh port when the process dies early (another process may
    have taken the port between probing and binding).
    """
    problem: RuntimeError | None = None
    for _ in range(attempts):
        port = free_port()
        args = [part.replace("{port}", str(port)) for part in argv]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = _start(args, log, env={**os.environ, **(env or {})}, cwd=cwd)
        server = ServerProcess(f"{scheme}://127.0.0.1:{port}", port, process, log_path, verify)
        try:
            wait_until_healthy(server, health_path, timeout)
        except RuntimeError as error:
            server.stop()
            problem = error
            continue
        return server
    assert problem is not None
    raise problem


@contextlib.contextmanager
def running_server(
    argv: Sequence[str],
    *,
    log_path: Path,
    health_path: str = "/health",
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30.0,
) -> Iterator[ServerProcess]:
    """Context manager around :func:`start_server` that always stops the server."""
    server = start_server(
        argv, log_path=log_path, health_path=health_path, env=env, cwd=cwd, timeout=timeout
    )
    try:
        yield server
    finally:
        server.stop()
