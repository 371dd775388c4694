"""Helpers for tests against the reference TTP: a config folder with a running server, digests.

The fixtures live in ``tests/integration/ttp/conftest.py``; this module holds
what the test modules import (as ``support.ttp``, like the other support
modules).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from aanlevering.counterparts.ttp.config import read_config_document
from aanlevering.counterparts.ttp.demo_config import (
    DEFAULT_REGISTRATIONS,
    DemoRegistration,
    write_config_document,
    write_demo_config,
)
from aanlevering.pseudonym.crypto import b64url_decode, b64url_encode
from aanlevering.pseudonym.key_check import source_key_check
from aanlevering.pseudonym.source_step import SourceKey
from aanlevering.pseudonym.ttp.client import TTPClient
from support.servers import PYTHON, ServerProcess, start_server

#: Registrations of the test TTP: the three demos plus one that may receive B.
REGISTRATIONS = (*DEFAULT_REGISTRATIONS, DemoRegistration("bsn-pilot", "dica", ("B", "GG")))
#: The secret of the shared source key every test hospital holds (one per registration).
SOURCE_SECRET = bytes(range(64))
#: Check values of those keys, which every TTP request carries (decision 0224).
SOURCE_KEYS = {
    reg.id: source_key_check(SourceKey(reg.id, 1, SOURCE_SECRET)) for reg in REGISTRATIONS
}
SOURCE_KEY = SOURCE_KEYS["dica-dsaa"]
#: The same, as raw request bodies for dica-dsaa carry it.
SOURCE_KEY_JSON = SOURCE_KEY.as_json()


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
        options.setdefault("source_key_checks", SOURCE_KEYS)
        return TTPClient(self.url, self.api_keys[organisation], **options)

    def headers(self, organisation: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_keys[organisation]}"}

    def start(self, tls_args: tuple[str, ...] = (), ca: Path | None = None) -> ServerProcess:
        """Start ``ttp serve``; with ``tls_args`` (``--tls-cert`` ...) it speaks https."""
        self.server = start_server(
            [
                *(PYTHON, "-m", "aanlevering.cli.main", "ttp", "serve"),
                *("--config", str(self.config), "--port", "{port}", *tls_args),
            ],
            log_path=self.folder / "server.log",
            scheme="https" if tls_args else "http",
            verify=str(ca) if ca is not None else True,
        )
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def use_receiver_key(setup: TTPSetup, receiver_key: Path) -> None:
    """The TTP presents this key when it forwards; the test receiver accepts only it."""
    for path in (setup.folder / "forwarding").iterdir():
        path.write_text(receiver_key.read_text())


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
    # One TTP serves a whole test session from 127.0.0.1: rate limits are tested on their own.
    document["limits"] = {"requests_per_minute": 100_000, "failed_auth_per_minute": 100_000}
    write_config_document(demo.config, document)
    keys = {org: path.read_text().strip() for org, path in demo.api_key_files.items()}
    return TTPSetup(folder=folder, config=demo.config, api_keys=keys)
