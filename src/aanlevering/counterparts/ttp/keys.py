"""Key material of the TTP: per registration, per key version, per purpose.

Each key version has one input secret: its own ``secret_file`` or, when it has
none, the config's master key. From that secret HKDF-SHA256 derives one key
per purpose with ``info = "aanlevering-ttp/<registration>/v<version>/<purpose>"``,
so keys of different registrations, versions and purposes are independent even
when they share a master key. Purposes:

* ``definitive``: HMAC-SHA256 key of definitive pseudonyms,
* ``temporary``: AES-SIV key that seals temporary pseudonyms,
* ``mrn``: AES-SIV key that wraps the hospital's MRN ciphertext.

Retired versions are not loaded at all, so nothing can be made or opened with
them. Cipher and HMAC objects are built once and reused for every record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from aanlevering.counterparts.ttp.config import KeyStatus, Registration, TTPConfig
from aanlevering.counterparts.ttp.refusal import Refusal
from aanlevering.errors import ConfigError
from aanlevering.private_files import check_key_file
from aanlevering.pseudonym_types import PseudonymType

log = logging.getLogger(__name__)

Purpose = Literal["definitive", "temporary", "mrn"]

#: Minimum size of a secret or master key file, in bytes after hex decoding.
MIN_SECRET_BYTES = 32


def read_secret_file(path: Path) -> bytes:
    """A hex-encoded secret of at least 32 bytes; ConfigError names the file, never the content."""
    check_key_file(path, "TTP key")
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read key file ({type(error).__name__})") from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise ConfigError(f"{path}: key file must hold one line of hexadecimal") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(f"{path}: key file must hold at least {MIN_SECRET_BYTES} bytes")
    return secret


def read_secret_text(path: Path) -> str:
    """A clear API key from a file (one line), for calls the TTP itself makes."""
    check_key_file(path, "API key")
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read key file ({type(error).__name__})") from None
    if not text:
        raise ConfigError(f"{path}: key file is empty")
    return text


def derive_key(
    secret: bytes, registration: str, version: int, purpose: Purpose, length: int
) -> bytes:
    """HKDF-SHA256 of one purpose key; the info string binds registration, version and purpose."""
    info = f"aanlevering-ttp/{registration}/v{version}/{purpose}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret)


def temporary_associated_data(registration: str, ptype: PseudonymType, version: int) -> bytes:
    """What a temporary pseudonym is bound to: it opens only for this registration/type/version."""
    return f"{registration}\x00{ptype.value}\x00v{version}".encode()


def mrn_associated_data(registration: str, hospital: str, version: int) -> bytes:
    """What an MRN pseudonym is bound to: only this hospital can have it reversed."""
    return f"{registration}\x00{hospital}\x00MRN\x00v{version}".encode()


@dataclass(frozen=True)
class VersionKeys:
    """Ready-to-use keys of one registration and key version."""

    registration: str
    version: int
    status: KeyStatus
    #: HMAC objects already fed with ``<type>\\x00``: copy, add the digest, finalize.
    definitive_prefix: Mapping[PseudonymType, HMAC]
    temporary: AESSIV
    temporary_ad: Mapping[PseudonymType, bytes]
    mrn: AESSIV
    #: The raw keys behind ``temporary`` and ``mrn``, for sealing whole columns at once
    #: (:mod:`aanlevering.pseudonym.siv_columns`, pinned to the AESSIV objects).
    temporary_secret: bytes = field(repr=False)
    mrn_secret: bytes = field(repr=False)

    def definitive(self, ptype: PseudonymType, digest: bytes) -> bytes:
        """HMAC-SHA256(definitive key, type || 0x00 || source digest)."""
        mac = self.definitive_prefix[ptype].copy()
        mac.update(digest)
        return mac.finalize()


def _version_keys(
    registration: Registration, version: int, status: KeyStatus, secret: bytes
) -> VersionKeys:
    definitive_key = derive_key(secret, registration.id, version, "definitive", 32)
    prefixes: dict[PseudonymType, HMAC] = {}
    ads: dict[PseudonymType, bytes] = {}
    for ptype in PseudonymType:
        mac = HMAC(definitive_key, hashes.SHA256())
        mac.update(ptype.value.encode() + b"\x00")
        prefixes[ptype] = mac
        ads[ptype] = temporary_associated_data(registration.id, ptype, version)
    temporary_secret = derive_key(secret, registration.id, version, "temporary", 64)
    mrn_secret = derive_key(secret, registration.id, version, "mrn", 64)
    return VersionKeys(
        registration=registration.id,
        version=version,
        status=status,
        definitive_prefix=prefixes,
        temporary=AESSIV(temporary_secret),
        temporary_ad=ads,
        mrn=AESSIV(mrn_secret),
        temporary_secret=temporary_secret,
        mrn_secret=mrn_secret,
    )


class KeyRing:
    """All usable keys of a config, loaded once at start-up."""

    def __init__(self, config: TTPConfig) -> None:
        master: bytes | None = None
        self._keys: dict[tuple[str, int], VersionKeys] = {}
        self._registrations = config.registrations
        for registration in config.registrations.values():
            for key in registration.keys:
                if key.status == "retired":
                    continue
                if key.secret_file is not None:
                    secret = read_secret_file(key.secret_file)
                else:
                    if config.master_key_file is None:  # load_config prevents this
                        raise ConfigError(f"{config.path}: no key material for {registration.id}")
                    master = master or read_secret_file(config.master_key_file)
                    secret = master
                self._keys[(registration.id, key.version)] = _version_keys(
                    registration, key.version, key.status, secret
                )
        log.info("key ring loaded: %d usable key versions", len(self._keys))

    def active(self, registration: str) -> VersionKeys:
        """Keys that new pseudonyms of this registration are made under."""
        return self._keys[(registration, self._registrations[registration].active_version)]

    def version(self, registration: str, version: int, *, index: int | None = None) -> VersionKeys:
        """Keys of an active or transition version; a Refusal for retired or unknown versions."""
        keys = self._keys.get((registration, version))
        if keys is not None:
            return keys
        status = self._registrations[registration].key_status(version)
        if status == "retired":
            raise Refusal(
                422,
                "retired_key_version",
                f"key version {version} of registration {registration!r} is retired; "
                "pseudonyms made under it can no longer be converted",
                registration=registration,
                index=index,
            )
        raise Refusal(
            422,
            "unknown_key_version",
            f"registration {registration!r} has no key version {version}",
            registration=registration,
            index=index,
        )
