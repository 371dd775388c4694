"""The reference registry holder as a real process on 127.0.0.1, for delivery tests.

``registry_holder`` (function scope) writes a demo config (with fault
injection enabled and an SFTP inbox per registration), starts
``aanlevering registry-holder serve`` on a free port and waits, bounded, for
``/health``. ``restart()`` and ``stop()`` let fault tests take it down.

``hospital_holder`` (function scope) is a hospital of its own on a holder
process shared by the test module (``shared_registry_holder``): the holder
keeps every hospital's deliveries, receipts and ledger apart, so a test that
needs only an empty store of its own pays no holder start (decision 0831).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from support.forked_cli import ForkedCli, start_cli

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
    process: ForkedCli | None = field(default=None, repr=False)
    #: ``--tls-*`` arguments of ``serve``; with them the holder speaks https.
    tls_args: tuple[str, ...] = ()
    #: CA bundle the test's own requests verify the server with (TLS only).
    ca: Path | None = None
    #: The hospital ``api_key`` belongs to (the provider id of its deliveries).
    hospital: str = HOSPITAL

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
        log_path = self.home / "registry-holder.log"
        with log_path.open("ab") as log, open(os.devnull, "rb") as nothing:
            self.process = start_cli(
                [
                    "registry-holder",
                    "serve",
                    "--config",
                    str(self.home / "registry-holder.yaml"),
                    "--port",
                    str(self.port),
                    *self.tls_args,
                ],
                env=dict(os.environ),
                stdin=nothing.fileno(),
                stdout=log.fileno(),
                stderr=log.fileno(),
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


@contextlib.contextmanager
def _own_holder(tmp_path: Path) -> Iterator[RegistryHolder]:
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


@pytest.fixture
def registry_holder(tmp_path: Path) -> Iterator[RegistryHolder]:
    with _own_holder(tmp_path) as holder:
        yield holder


@pytest.fixture
def own_registry_holder(tmp_path: Path) -> Iterator[RegistryHolder]:
    """A holder process of its own (to stop and start) where ``registry_holder`` is shared."""
    with _own_holder(tmp_path) as holder:
        yield holder


#: Hospitals on a module's shared holder: one per test, more than any module has tests.
SHARED_HOSPITALS = 40


@dataclass
class SharedRegistryHolder:
    """One holder process for a module; ``fresh()`` hands out a hospital never used before."""

    holder: RegistryHolder
    hospitals: list[str]
    used: int = 0

    def fresh(self) -> RegistryHolder:
        """A handle as ``hospital-NNN``: an empty ledger, store and inbox of its own."""
        assert self.used < len(self.hospitals), "more tests than the shared holder's hospitals"
        hospital = self.hospitals[self.used]
        self.used += 1
        api_key = (self.holder.home / f"{hospital}.api-key").read_text().strip()
        return replace(self.holder, api_key=api_key, hospital=hospital, process=None)


@contextlib.contextmanager
def started_shared_holder(
    home: Path, limits: dict[str, float] | None = None, **config: Any
) -> Iterator[SharedRegistryHolder]:
    """A holder with ``SHARED_HOSPITALS`` hospitals (``write_demo_config`` options), started.

    ``limits``: the config's ``limits`` section (the holder's caps), if any.
    """
    from aanlevering.cli.registry_holder import write_demo_config

    hospitals = [f"hospital-{n:03d}" for n in range(SHARED_HOSPITALS)]
    path = write_demo_config(home, hospitals, REGISTRATIONS, **config)
    if limits is not None:
        written = yaml.safe_load(path.read_text(encoding="utf-8"))
        written["limits"] = limits
        path.write_text(yaml.safe_dump(written), encoding="utf-8")
    first = (home / f"{hospitals[0]}.api-key").read_text().strip()
    holder = RegistryHolder(home, _free_port(), first, hospital=hospitals[0])
    holder.start()
    try:
        yield SharedRegistryHolder(holder, hospitals)
    finally:
        holder.stop()


@pytest.fixture(scope="module")
def shared_registry_holder(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SharedRegistryHolder]:
    """The ``registry_holder`` configuration with many hospitals, started once per module."""
    home = tmp_path_factory.mktemp("shared-registry-holder")
    with started_shared_holder(home, fault_injection=True) as shared:
        yield shared


@pytest.fixture
def hospital_holder(shared_registry_holder: SharedRegistryHolder) -> Iterator[RegistryHolder]:
    """A fresh hospital on the module's holder; the fault settings are cleared after the test.

    For tests that need an empty holder of their own but not a holder process of their
    own (no restart, no configuration of their own, nothing read from its global log).
    """
    holder = shared_registry_holder.fresh()
    try:
        yield holder
    finally:
        holder.faults()  # the fault route's defaults: none armed


#: The shipped catalogue: a holder given it knows its registrations' terms.
CATALOGUE = Path(__file__).resolve().parents[2] / "schemas" / "catalogue"


@pytest.fixture(scope="module")
def shared_knowing_holder(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SharedRegistryHolder]:
    """A holder that knows its registrations' terms from the catalogue, started once per module."""
    home = tmp_path_factory.mktemp("knowing-holder")
    with started_shared_holder(home, catalogue_dir=CATALOGUE) as shared:
        yield shared


@pytest.fixture
def knowing_holder(shared_knowing_holder: SharedRegistryHolder) -> RegistryHolder:
    """A fresh hospital on the module's knowing holder (decision 0831)."""
    return shared_knowing_holder.fresh()
