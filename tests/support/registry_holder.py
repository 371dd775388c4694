"""The reference registry holder as a real process on 127.0.0.1, for delivery tests.

``registry_holder`` (function scope) writes a demo config (with fault
injection enabled and an SFTP inbox per registration), starts
``aanlevering registry-holder serve`` on a free port and waits, bounded, for
``/health``. ``restart()`` and ``stop()`` let fault tests take it down.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

REGISTRATIONS = ["dica-dsaa", "ldtr", "nkr-borst"]
HOSPITAL = "demo-hospital"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RegistryHolder:
    """Handle on the running receiver."""

    home: Path
    port: int
    api_key: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    #: ``--tls-*`` arguments of ``serve``; with them the holder speaks https.
    tls_args: tuple[str, ...] = ()
    #: CA bundle the test's own requests verify the server with (TLS only).
    ca: Path | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls_args else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> str | bool:
        return str(self.ca) if self.ca is not None else True

    def endpoint(self, registration: str) -> str:
        return f"{self.base_url}/registrations/{registration}/deliveries"

    def start(self) -> None:
        log = (self.home / "registry-holder.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aanlevering.cli.main",
                "registry-holder",
                "serve",
                "--config",
                str(self.home / "registry-holder.yaml"),
                "--port",
                str(self.port),
                *self.tls_args,
            ],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"registry holder exited; see {log.name}")
            try:
                if requests.get(f"{self.base_url}/health", timeout=1, verify=self.verify).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"registry holder did not answer /health; see {log.name}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def faults(self, **settings: float) -> None:
        requests.post(
            f"{self.base_url}/_faults", json=settings, timeout=5, verify=self.verify
        ).raise_for_status()

    def ledger(self) -> list[dict[str, Any]]:
        response = requests.get(
            f"{self.base_url}/ledger",
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=5,
            verify=self.verify,
        )
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result


@pytest.fixture
def registry_holder(tmp_path: Path) -> Iterator[RegistryHolder]:
    from aanlevering.cli.registry_holder import write_demo_config

    home = tmp_path / "registry-holder"
    write_demo_config(home, HOSPITAL, REGISTRATIONS, fault_injection=True)
    api_key = (home / f"{HOSPITAL}.api-key").read_text().strip()
    holder = RegistryHolder(home, _free_port(), api_key)
    holder.start()
    try:
        yield holder
    finally:
        holder.stop()
