"""Endpoints and credentials of the counterparties, from a source other than the environment.

Why: in Airflow, hospitals keep credentials in Connections backed by a secrets
backend (Vault, a cloud secret manager), not in environment variables and
files. The pipeline must not import Airflow (the CLI runs without it), so the
entry point hands :func:`aanlevering.runs.ports.open_ports` a
:class:`CredentialsSource`; the Airflow one is
:mod:`aanlevering.airflow.connections`. A source answers ``None`` for a
counterparty it knows nothing about, and the environment is used instead.

TLS material may arrive as PEM text rather than file paths. ``requests`` only
takes files, so :class:`PrivateFiles` writes the text to 0600 files in a
fresh 0700 folder and removes them when the step ends. The folder is in
memory (``/dev/shm``) where the machine has it, never on the staging share
that Celery workers may mount over the network (``AANLEVERING_CREDENTIALS_DIR``
overrides the place). The text never appears in a ``repr``, a log line or XCom.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from aanlevering.temp_folders import owned_folder, sweep_dead_owners
from aanlevering.tls import ClientTLS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Secret:
    """One piece of key material: text held in memory, or a file that holds it."""

    text: str | None = field(default=None, repr=False)
    path: Path | None = None

    def __repr__(self) -> str:
        return f"Secret(path={self.path!s})" if self.path else "Secret(<text>)"


@dataclass(frozen=True)
class EndpointCredentials:
    """Where one counterparty is and how to authenticate to it, from one source.

    ``url`` without a path (``https://rh.example.nl``) keeps the path of the
    registration's configured endpoint; ``api_key`` may be empty when a client
    certificate identifies the hospital. ``ssh_key`` and ``known_hosts`` are for
    an SFTP registry holder.
    """

    source: str
    url: str
    api_key: str = field(default="", repr=False)
    ca_bundle: Secret | None = None
    client_cert: Secret | None = None
    client_key: Secret | None = None
    allow_insecure_http: bool = False
    ssh_key: Secret | None = None
    known_hosts: Secret | None = None


class CredentialsSource(Protocol):
    """Where an entry point (Airflow) keeps credentials; ``None``: use the environment."""

    def ttp(self) -> EndpointCredentials | None:
        """The TTP's endpoint and this hospital's credentials there."""
        ...

    def registry_holder(self, registration_id: str) -> EndpointCredentials | None:
        """The endpoint and credentials of ``registration_id``'s registry holder."""
        ...


#: Where PEM text becomes files, when set; else memory (/dev/shm) or the temp folder.
CREDENTIALS_DIR_ENV = "AANLEVERING_CREDENTIALS_DIR"


def credentials_dir(env: Mapping[str, str] | None = None) -> Path:
    """The local folder for key material files: the variable, /dev/shm, or the temp folder."""
    env = os.environ if env is None else env
    if env.get(CREDENTIALS_DIR_ENV):
        return Path(env[CREDENTIALS_DIR_ENV]).expanduser()
    # Only ever a parent for mkdtemp (unique name, 0700): memory, not disk or a share.
    shm = Path("/dev/shm")  # noqa: S108
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return Path(tempfile.gettempdir())


class PrivateFiles:
    """Key material as files for as long as a step runs: 0600 files in a 0700 folder.

    The folder is created on first use inside ``parent`` (default
    :func:`credentials_dir`), named after this process so a later process can
    remove it if this one is killed (:func:`sweep_dead_owners`), and removed with
    everything in it on exit.
    """

    def __init__(self, parent: Path | None = None) -> None:
        self.parent = parent if parent is not None else credentials_dir()
        self.folder: Path | None = None

    def __enter__(self) -> PrivateFiles:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove every file written."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def path_of(self, secret: Secret | None, name: str) -> Path | None:
        """The file holding ``secret``: its own path, or a private file written from its text."""
        if secret is None:
            return None
        if secret.path is not None:
            return secret.path
        if self.folder is None:
            self.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Judged by pid, start time, boot and process space: a folder of a live task
            # in another container sharing the folder is not ours to remove (1014).
            sweep_dead_owners(self.parent)
            self.folder = owned_folder("credentials", self.parent)
        path = self.folder / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secret.text or "")
            if secret.text and not secret.text.endswith("\n"):
                handle.write("\n")
        return path

    def client_tls(self, credentials: EndpointCredentials, prefix: str) -> ClientTLS:
        """The :class:`ClientTLS` of ``credentials``, PEM text written to private files."""
        return ClientTLS(
            ca_bundle=self.path_of(credentials.ca_bundle, f"{prefix}-ca.pem"),
            client_cert=self.path_of(credentials.client_cert, f"{prefix}-client-cert.pem"),
            client_key=self.path_of(credentials.client_key, f"{prefix}-client-key.pem"),
            allow_insecure_http=credentials.allow_insecure_http,
        )
