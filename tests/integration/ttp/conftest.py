"""A real reference TTP (and a real receiving registry holder) for the TTP integration tests.

One TTP process serves the whole session (fault injection enabled for the
retry tests); rotation tests start their own. Both are started with the
command a deployment uses, ``aanlevering ttp serve`` (run as
``python -m aanlevering.cli.main``), on a free 127.0.0.1 port.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from tests.support.servers import PYTHON, ServerProcess, running_server, start_server

from aanlevering.counterparts.ttp.config import read_config_document
from aanlevering.counterparts.ttp.demo_config import (
    DEFAULT_REGISTRATIONS,
    DemoRegistration,
    write_config_document,
    write_demo_config,
)
from aanlevering.pseudonym.crypto import b64url_encode
from aanlevering.pseudonym.ttp_client import TTPClient

RECEIVER = Path(__file__).with_name("receiver.py")

#: Registrations of the test TTP: the three demos plus one that may receive B.
REGISTRATIONS = (*DEFAULT_REGISTRATIONS, DemoRegistration("bsn-pilot", "dica", ("B", "GG")))


def digest(seed: str) -> str:
    """A source digest as the hospital side makes it (64 lowercase hex)."""
    return hashlib.sha256(seed.encode()).hexdigest()


@dataclass
class Hospital:
    """A hospital's own MRN key, which the TTP never sees."""

    key: bytes

    def mrn_ciphertext(self, mrn: str) -> str:
        return b64url_encode(AESSIV(self.key).encrypt(mrn.encode(), [b"mrn"]))

    def decrypt(self, ciphertext: str) -> str:
        from aanlevering.pseudonym.crypto import b64url_decode

        return AESSIV(self.key).decrypt(b64url_decode(ciphertext), [b"mrn"]).decode()


@dataclass
class TTPSetup:
    """A config folder and, once started, the server."""

    folder: Path
    config: Path
    api_keys: dict[str, str]
    server: ServerProcess | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def audit_log(self) -> Path:
        return self.folder / "audit.jsonl"

    def client(self, organisation: str, **options: Any) -> TTPClient:
        options.setdefault("backoff", 0.01)
        options.setdefault("timeout", 10.0)
        return TTPClient(self.url, self.api_keys[organisation], **options)

    def headers(self, organisation: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_keys[organisation]}"}

    def start(self) -> ServerProcess:
        self.server = start_server(
            [
                *(PYTHON, "-m", "aanlevering.cli.main", "ttp", "serve"),
                *("--config", str(self.config), "--port", "{port}"),
            ],
            log_path=self.folder / "server.log",
        )
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def make_setup(folder: Path, forward_base_url: str) -> TTPSetup:
    """Write a fresh TTP config with fault injection and fast forwarding retries."""
    demo = write_demo_config(
        folder,
        registrations=REGISTRATIONS,
        forward_base_url=forward_base_url,
        fault_injection=True,
    )
    document = read_config_document(demo.config)
    document["forwarding"] = {"max_attempts": 3, "backoff_seconds": 0.05, "timeout_seconds": 5}
    write_config_document(demo.config, document)
    keys = {org: path.read_text().strip() for org, path in demo.api_key_files.items()}
    return TTPSetup(folder=folder, config=demo.config, api_keys=keys)


@pytest.fixture(scope="session")
def ttp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ttp")


@pytest.fixture(scope="session")
def receiver_key(ttp_root: Path) -> Path:
    path = ttp_root / "receiver.key"
    path.write_text(secrets.token_urlsafe(32))
    return path


@pytest.fixture(scope="session")
def receiver(ttp_root: Path, receiver_key: Path) -> Iterator[ServerProcess]:
    """The registry holders' receiving endpoint (one process for all registrations)."""
    folder = ttp_root / "received"
    with running_server(
        [
            *(PYTHON, str(RECEIVER), "--dir", str(folder), "--port", "{port}"),
            *("--api-key-file", str(receiver_key)),
        ],
        log_path=ttp_root / "receiver.log",
    ) as server:
        yield server


def _use_receiver_key(setup: TTPSetup, receiver_key: Path) -> None:
    # The TTP presents this key when it forwards; the test receiver accepts only it.
    for path in (setup.folder / "forwarding").iterdir():
        path.write_text(receiver_key.read_text())


@pytest.fixture(scope="session")
def ttp(ttp_root: Path, receiver: ServerProcess, receiver_key: Path) -> Iterator[TTPSetup]:
    """The session's TTP, running."""
    setup = make_setup(ttp_root / "ttp", receiver.url)
    _use_receiver_key(setup, receiver_key)
    setup.start()
    yield setup
    setup.stop()


@pytest.fixture
def fresh_ttp(tmp_path: Path, receiver: ServerProcess, receiver_key: Path) -> Iterator[TTPSetup]:
    """A TTP of its own (not started), for tests that change config and restart."""
    setup = make_setup(tmp_path / "ttp", receiver.url)
    _use_receiver_key(setup, receiver_key)
    yield setup
    setup.stop()


@pytest.fixture
def faults(ttp: TTPSetup) -> Iterator[Callable[..., None]]:
    """Arm the session TTP's fault injection; disarmed again after the test."""

    def arm(count: int, mode: str = "error", **options: Any) -> None:
        response = requests.post(
            ttp.url + "/admin/faults",
            json={"count": count, "mode": mode, **options},
            headers=ttp.headers("ttp-admin"),
            timeout=5,
        )
        assert response.status_code == 200, response.text

    yield arm
    arm(0)


@pytest.fixture(scope="session")
def hospital_a() -> Hospital:
    return Hospital(os.urandom(64))


@pytest.fixture(scope="session")
def hospital_b() -> Hospital:
    return Hospital(os.urandom(64))
