"""SFTP channel: upload to the registry holder's inbox and wait for its receipt file.

Layout on the server: ``<path>/<idempotency key>/`` receives the data files
(each uploaded as ``.name.part`` and renamed when complete; what an earlier,
unreceipted attempt left there is removed first, decision 0660), then
``manifest.json`` last, which tells the receiver the delivery is whole. The
receiver verifies and writes ``receipt.json`` into the same folder; the
delivery counts only when that file is there and names this provider, key,
manifest sha256 and record counts. Host keys are checked against a
known_hosts file (never auto-accepted); an unknown or changed host key is a
rejection (fix known_hosts), never retried as if the server were down.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paramiko

from aanlevering import json_input
from aanlevering.bounded_answers import ANSWER_LIMIT, LIMIT_TEXT
from aanlevering.deliver.channels.sftp_leftovers import (
    clear_remote_leftovers,
    refuse_linked_folder,
)
from aanlevering.deliver.held import KINDS, HeldVersion, Holdings, keep_own, version_of_key
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest
from aanlevering.deliver.receipt import (
    Receipt,
    RejectedDelivery,
    RetryableDeliveryError,
    adopt_existing,
    verify_receipt,
)
from aanlevering.demo_mode import refuse_reference
from aanlevering.errors import ConfigError, DeliveryError

log = logging.getLogger(__name__)
RECEIPT_NAME = "receipt.json"
REJECTED_NAME = "rejected.txt"


#: Bytes per write of an upload (paramiko's own put() uses the same).
_CHUNK = 32768


@contextmanager
def _new_file(sftp: paramiko.SFTPClient, path: str) -> Iterator[paramiko.SFTPFile]:
    """Open ``path`` on the server as a new file: refused when anything, a link too, is there.

    Why: an upload opened for plain writing follows a symbolic link someone
    planted at its ``.part`` name after the leftovers were cleared, and writes
    the delivery wherever the link points (decision 0723). Exclusive create
    never follows a link; the refusal is an OSError, so the attempt is retried
    and the next one clears the link first.
    """
    try:
        opened = sftp.open(path, "wxb")  # write, create, exclusive
    except OSError as error:
        raise RetryableDeliveryError(
            f"SFTP {path} could not be made as a new file ({error}): something is already "
            "there, such as a link made after the folder was cleared; nothing is written "
            "through it, and the next attempt clears it first"
        ) from error
    with opened as handle:
        handle.set_pipelined(True)
        yield handle


@dataclass(frozen=True)
class SftpTarget:
    """Where and as whom to connect; secrets come from files, not from the URL."""

    host: str
    port: int
    username: str
    path: str
    private_key_file: Path
    known_hosts_file: Path

    @classmethod
    def from_url(cls, url: str, private_key_file: Path, known_hosts_file: Path) -> SftpTarget:
        """Parse ``sftp://user@host:port/path``; ConfigError when a part is missing."""
        parts = urlsplit(url)
        if parts.scheme != "sftp" or not parts.hostname or not parts.username:
            raise ConfigError(
                "SFTP endpoint must look like sftp://user@host:port/path, got "
                f"{_without_password(url)!r}"
            )
        if parts.password is not None:
            raise ConfigError(
                f"SFTP endpoint {_without_password(url)!r} holds a password: the SFTP channel "
                "logs in with its private key only; remove the password from the URL"
            )
        return cls(
            host=parts.hostname,
            port=parts.port or 22,
            username=unquote(parts.username),
            path=unquote(parts.path) or "/",
            private_key_file=private_key_file,
            known_hosts_file=known_hosts_file,
        )


def _without_password(url: str) -> str:
    """The URL as an error may quote it: a password (from an environment value) starred."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


class _UnknownHostKey(paramiko.MissingHostKeyPolicy):
    """Refuse a host whose key is not in known_hosts, with a permanent error."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise RejectedDelivery(
            f"SFTP host key of {hostname} ({key.get_name()}) not found in known_hosts; "
            "add the registry holder's host key before delivering"
        )


@dataclass(frozen=True)
class SftpChannel:
    """Upload with paramiko, then poll (bounded) for the receiver's receipt."""

    target: SftpTarget
    receipt_timeout: float = 60.0
    poll_interval: float = 0.5
    connect_timeout: float = 15.0
    name: str = "sftp"

    @contextmanager
    def _session(self) -> Iterator[paramiko.SFTPClient]:
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.target.known_hosts_file))
        client.set_missing_host_key_policy(_UnknownHostKey())
        try:
            client.connect(
                self.target.host,
                port=self.target.port,
                username=self.target.username,
                key_filename=str(self.target.private_key_file),
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
                allow_agent=False,
                look_for_keys=False,
            )
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(self.connect_timeout * 4)  # type: ignore[union-attr]
            yield sftp
        except paramiko.BadHostKeyException as error:
            raise RejectedDelivery(
                f"SFTP host key of {self.target.host}:{self.target.port} does not match "
                f"known_hosts (possible impersonation): {error}"
            ) from error
        except (OSError, paramiko.SSHException, EOFError) as error:
            raise RetryableDeliveryError(
                f"SFTP to {self.target.host}:{self.target.port} failed: {error}"
            ) from error
        finally:
            client.close()

    def _folder(self, manifest: Manifest) -> str:
        return posixpath.join(self.target.path, manifest.idempotency_key)

    @staticmethod
    def _read_receipt(sftp: paramiko.SFTPClient, folder: str) -> dict[str, object] | None:
        """The receiver's ``receipt.json``, read no further than 1 MiB (decision 0401)."""
        try:
            with sftp.open(posixpath.join(folder, RECEIPT_NAME), "r") as handle:
                raw = handle.read(ANSWER_LIMIT + 1)
        except FileNotFoundError:
            return None
        if len(raw) > ANSWER_LIMIT:
            raise RejectedDelivery(
                f"the receiver's {RECEIPT_NAME} in {folder} is larger than {LIMIT_TEXT} (a "
                "receipt is a few hundred bytes); it was not read. The delivery is NOT "
                "recorded as delivered."
            )
        try:
            data = json_input.parse(raw)
        except json_input.JsonInputError as error:
            raise DeliveryError(
                f"receiver sent an invalid receipt: {RECEIPT_NAME} in {folder}: {error}"
            ) from None
        if not isinstance(data, dict):
            raise DeliveryError(
                f"receiver sent an invalid receipt: {RECEIPT_NAME} in {folder} is no JSON object"
            )
        return data

    @staticmethod
    def _read_kind(sftp: paramiko.SFTPClient, folder: str) -> str:
        """The kind the version's own manifest names (decision 0456), "" when it says none.

        A link, a manifest over the answer limit or one that is no JSON object
        leaves the kind unknown, which the ledger reads as before.
        """
        path = posixpath.join(folder, MANIFEST_NAME)
        try:
            if stat.S_ISLNK(sftp.lstat(path).st_mode or 0):
                return ""
            with sftp.open(path, "r") as handle:
                raw = handle.read(ANSWER_LIMIT + 1)
        except OSError:
            return ""
        if len(raw) > ANSWER_LIMIT:
            return ""
        try:
            data = json_input.parse(raw)
        except json_input.JsonInputError:
            return ""
        kind = data.get("kind", "") if isinstance(data, dict) else ""
        return kind if kind in KINDS else ""

    @staticmethod
    def _read_rejection(sftp: paramiko.SFTPClient, folder: str) -> str | None:
        try:
            with sftp.open(posixpath.join(folder, REJECTED_NAME), "r") as handle:
                return str(handle.read(4000).decode("utf-8", errors="replace"))
        except FileNotFoundError:
            return None

    @staticmethod
    def _ensure_dir(sftp: paramiko.SFTPClient, folder: str) -> None:
        try:
            if stat.S_ISDIR(sftp.stat(folder).st_mode or 0):
                return
        except FileNotFoundError:
            pass
        sftp.mkdir(folder)

    def held_versions(self, provider: str, registration: str, period: str) -> Holdings:
        """The versions of the period whose inbox folder holds this provider's receipt.

        One listing of the inbox and one read per folder of the period (decision
        0460); a folder without ``receipt.json`` (not yet, or refused) holds nothing.
        """
        found: list[HeldVersion] = []
        with self._session() as sftp:
            for name in sftp.listdir(self.target.path):
                version = version_of_key(name, provider, registration, period)
                if version is None:
                    continue
                raw = self._read_receipt(sftp, posixpath.join(self.target.path, name))
                if raw is None:
                    continue
                receipt = Receipt.from_mapping(raw, self.name)
                if receipt.reference:  # the reference holder's inbox (decision 0710)
                    refuse_reference("registry holder", f"the SFTP inbox {self.target.path}")
                if (receipt.provider, receipt.idempotency_key) != (provider, name):
                    continue
                found.append(
                    HeldVersion(
                        version=version,
                        idempotency_key=name,
                        receipt_id=receipt.receipt_id,
                        receiver=receipt.receiver,
                        received_at=receipt.received_at,
                        kind=self._read_kind(sftp, posixpath.join(self.target.path, name)),
                    )
                )
        return Holdings(
            registration, period, keep_own(found, provider, registration, period), self.name
        )

    def _earlier_answer(
        self, sftp: paramiko.SFTPClient, remote: str, manifest: Manifest
    ) -> Receipt | None:
        """The receiver's answer already in the version folder; None when it holds none.

        Why: a folder the receiver answered is decided; it never reads it
        again. Uploading into it would replace the files and manifest it
        decided on and report its old answer as if about this upload
        (decision 0722). A receipt is adopted (ours, or the version taken by
        other content); a refusal is RejectedDelivery naming it as earlier.
        """
        existing = self._read_receipt(sftp, remote)
        if existing is not None:
            return adopt_existing(Receipt.from_mapping(existing, self.name), manifest)
        rejection = self._read_rejection(sftp, remote)
        if rejection is not None:
            raise RejectedDelivery(
                f"the receiver refused {manifest.idempotency_key} over SFTP before this attempt "
                f"and does not read {remote} again; nothing was uploaded. Its reason:\n"
                f"{rejection}\nTo have this version checked again, the folder must be removed "
                "on the server (ask the registry holder)."
            )
        return None

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        """Upload files then the manifest; wait for ``receipt.json``; reuse an existing one."""
        remote = self._folder(manifest)
        with self._session() as sftp:
            if (answered := self._earlier_answer(sftp, remote, manifest)) is not None:
                return answered
            refuse_linked_folder(sftp, remote)
            self._ensure_dir(sftp, remote)
            clear_remote_leftovers(sftp, remote, manifest)  # no receipt: nothing delivered
            # The receiver may have answered a whole earlier attempt since the first look.
            if (answered := self._earlier_answer(sftp, remote, manifest)) is not None:
                return answered
            for item in manifest.transferred():
                partial = posixpath.join(remote, f".{item.name}.part")
                with (folder / item.name).open("rb") as source, _new_file(sftp, partial) as handle:
                    shutil.copyfileobj(source, handle, _CHUNK)
                if sftp.lstat(partial).st_size != item.bytes:
                    raise RetryableDeliveryError(f"SFTP upload of {item.name} was truncated")
                sftp.posix_rename(partial, posixpath.join(remote, item.name))
            partial_manifest = posixpath.join(remote, f".{MANIFEST_NAME}.part")
            with _new_file(sftp, partial_manifest) as handle:
                handle.write(manifest.to_json().encode("utf-8"))
            sftp.posix_rename(partial_manifest, posixpath.join(remote, MANIFEST_NAME))
            log.info("uploaded %s over SFTP; waiting for the receipt", manifest.idempotency_key)
            deadline = time.monotonic() + self.receipt_timeout
            while time.monotonic() < deadline:
                receipt = self._read_receipt(sftp, remote)
                if receipt is not None:
                    return verify_receipt(Receipt.from_mapping(receipt, self.name), manifest)
                rejection = self._read_rejection(sftp, remote)
                if rejection is not None:
                    raise RejectedDelivery(
                        f"the receiver refused {manifest.idempotency_key} over SFTP:\n{rejection}"
                    )
                time.sleep(self.poll_interval)
        raise RetryableDeliveryError(
            f"delivery {manifest.idempotency_key} uploaded over SFTP but not receipted within "
            f"{self.receipt_timeout:.0f} s; it will be retried with the same idempotency key"
        )
