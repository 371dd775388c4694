"""The first one-way step at the source: no identifier leaves the hospital in the clear.

For every canonical input of a normalisation profile:

* all types but MRN: ``HMAC-SHA256(source key, "<profile version>|<type>|<canonical input>")``
  as 64 lower-case hex digits. The source key belongs to one registration
  and key version; in the real world the TTP gives the same key to every
  hospital, so the digests of one person are equal across hospitals, which is
  what makes linkage possible. The TTP's own keyed step follows, so the
  registry holder never sees these digests.
* MRN: deterministic AES-SIV encryption under a key that only this hospital
  holds, with the registration id and profile version as associated data, so
  only this hospital can turn the pseudonym back into its patient number
  (:func:`reveal_mrn`) and the same patient gets a different MRN pseudonym
  in each registration. Written as unpadded base64url: the
  ``mrn_ciphertext`` of the TTP protocol.

Keys are never in code: they are read from a JSON key file or an environment
variable holding the same JSON (:func:`load_source_key`,
:func:`load_mrn_key`), and their ``repr`` hides the secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from aanlevering.errors import ConfigError, PseudonymisationError
from aanlevering.pseudonym.normalise.base import CanonicalColumns
from aanlevering.pseudonym.normalise.failures import NormalisationFailure
from aanlevering.pseudonym.normalise.mrn import MAX_LENGTH as MRN_MAX_LENGTH
from aanlevering.pseudonym.siv_columns import b64url_rows, siv_encrypt_rows
from aanlevering.pseudonym_types import PseudonymType

log = logging.getLogger(__name__)

#: Smallest HMAC key we accept (the SHA-256 block is 64 bytes; 32 is the usual minimum).
MIN_SOURCE_KEY_BYTES = 32
#: AES-SIV key sizes (two AES keys: 2x128, 2x192 or 2x256 bits).
MRN_KEY_SIZES = (32, 48, 64)
#: MRNs are padded to this many bytes before encryption so the pseudonym's
#: length does not reveal the number's length.
#: Padding block for MRNs: 32 bytes covers hospital numbers; FHIR-id MRNs
#: (UUIDs) pad to 64, so a token only tells "short number" from "FHIR id".
MRN_PAD_BLOCK = 32
MRN_PADDED_BYTES = MRN_MAX_LENGTH
_MRN_PAD = b"\x00"


@dataclass(frozen=True, slots=True)
class SourceKey:
    """HMAC key of one registration and key version, as handed out by the TTP."""

    registration: str
    version: int
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.registration:
            raise ConfigError("source key without a registration id")
        if self.version < 1:
            raise ConfigError(f"source key of {self.registration}: version must be 1 or higher")
        if len(self.secret) < MIN_SOURCE_KEY_BYTES:
            raise ConfigError(
                f"source key of {self.registration} version {self.version} is shorter than "
                f"{MIN_SOURCE_KEY_BYTES} bytes"
            )


@dataclass(frozen=True, slots=True)
class MrnKey:
    """AES-SIV key of this hospital for reversible MRN pseudonyms; never leaves the hospital."""

    version: int
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ConfigError("MRN key: version must be 1 or higher")
        if len(self.secret) not in MRN_KEY_SIZES:
            raise ConfigError(
                f"MRN key version {self.version} must be 32, 48 or 64 bytes (AES-SIV)"
            )


@dataclass(frozen=True, slots=True, repr=False)
class SourceBatch:
    """Source-step output of a batch: per type one value per row, ``None`` where it failed.

    ``key_versions`` says per type which key version made it (the MRN key's
    version for MRN, the source key's for the others).
    """

    registration: str
    profile_version: str
    num_rows: int
    values: Mapping[PseudonymType, Sequence[str | None]]
    key_versions: Mapping[PseudonymType, int]
    failures: tuple[NormalisationFailure, ...] = ()

    def __repr__(self) -> str:
        types = ", ".join(sorted(self.values))
        return (
            f"SourceBatch(registration={self.registration}, profile={self.profile_version}, "
            f"rows={self.num_rows}, types=[{types}], failures={len(self.failures)})"
        )


# --- keys -------------------------------------------------------------------------------


def _decode_secret(text: object, where: str) -> bytes:
    if not isinstance(text, str):
        raise ConfigError(f"{where}: 'secret' must be a base64 string")
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where}: 'secret' is not valid base64") from None


def _read_key_json(
    path: str | os.PathLike[str] | None, env_var: str | None
) -> tuple[dict[str, object], str]:
    if (path is None) == (env_var is None):
        raise ConfigError("give exactly one of a key file path or an environment variable name")
    if path is not None:
        where = f"key file {path}"
        try:
            mode = os.stat(path).st_mode
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{where}: cannot read ({error.strerror})") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"{where} is accessible to group or others (mode {stat.S_IMODE(mode):o}); "
                "run chmod 600 on it"
            )
    else:
        assert env_var is not None
        where = f"environment variable {env_var}"
        text = os.environ.get(env_var, "")
        if not text.strip():
            raise ConfigError(f"{where} is not set")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ConfigError(
            f"{where}: not JSON (expected an object with version and secret)"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    return data, where


def _version(data: Mapping[str, object], where: str) -> int:
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(f"{where}: 'version' must be an integer")
    return version


def load_source_key(
    registration: str,
    *,
    path: str | os.PathLike[str] | None = None,
    env_var: str | None = None,
) -> SourceKey:
    """Read the source key of ``registration`` from a JSON key file or environment variable.

    Format: ``{"registration": "dica-dsaa", "version": 2, "secret": "<base64>"}``.
    The registration in the file must match, so a key can never be used for
    the wrong registration. Errors are :class:`ConfigError` and never contain
    the secret.
    """
    data, where = _read_key_json(path, env_var)
    if data.get("registration") != registration:
        raise ConfigError(f"{where}: holds no source key for registration {registration}")
    return SourceKey(registration, _version(data, where), _decode_secret(data.get("secret"), where))


def load_mrn_key(
    *, path: str | os.PathLike[str] | None = None, env_var: str | None = None
) -> MrnKey:
    """Read this hospital's MRN key: ``{"version": 1, "secret": "<base64 of 64 bytes>"}``."""
    data, where = _read_key_json(path, env_var)
    return MrnKey(_version(data, where), _decode_secret(data.get("secret"), where))


def new_key_json(*, version: int, size: int = 64, registration: str | None = None) -> str:
    """A fresh random key in the key-file format (for the reference TTP, tests and ops)."""
    data: dict[str, object] = {"version": version}
    if registration is not None:
        data = {"registration": registration, **data}
    data["secret"] = base64.b64encode(os.urandom(size)).decode("ascii")
    return json.dumps(data)


# --- HMAC (every type but MRN) -----------------------------------------------------------


def _hasher(key: SourceKey, profile_version: str, type_: PseudonymType) -> Callable[[str], str]:
    """Digest function for one (key, profile, type): :func:`_hasher_raw` as hex text."""
    raw = _hasher_raw(key, profile_version, type_)

    def digest(canonical: str) -> str:
        return raw(canonical).hex()

    return digest


def _hasher_raw(
    key: SourceKey, profile_version: str, type_: PseudonymType
) -> Callable[[str], bytes]:
    """The 32 digest bytes for one (key, profile, type) (the column form hex-encodes them at once).

    The HMAC state is primed with the prefix once and copied per value, which
    keeps a batch at about a microsecond per digest.
    """
    primed = hmac.HMAC(key.secret, hashes.SHA256())
    primed.update(f"{profile_version}|{type_}|".encode())
    copy = primed.copy

    def digest(canonical: str) -> bytes:
        mac = copy()
        mac.update(canonical.encode())
        return mac.finalize()

    return digest


def hash_canonical(
    key: SourceKey, profile_version: str, type_: PseudonymType, canonical: str
) -> str:
    """HMAC-SHA256 hex digest of one canonical input (see the module docstring)."""
    if type_ is PseudonymType.MRN:
        raise PseudonymisationError("MRN pseudonyms are encrypted, not hashed: use encrypt_mrn")
    return _hasher(key, profile_version, type_)(canonical)


def hash_column(
    key: SourceKey,
    profile_version: str,
    type_: PseudonymType,
    canonical: Iterable[str | None],
) -> list[str | None]:
    """:func:`hash_canonical` over a column; ``None`` (a failed row) stays ``None``."""
    if type_ is PseudonymType.MRN:
        raise PseudonymisationError("MRN pseudonyms are encrypted, not hashed: use encrypt_mrn")
    digest = _hasher(key, profile_version, type_)
    return [None if value is None else digest(value) for value in canonical]


# --- AES-SIV (MRN) -------------------------------------------------------------------------


def _associated_data(registration: str, profile_version: str) -> list[bytes]:
    return [b"aanlevering-mrn", registration.encode(), profile_version.encode()]


def _unb64url(text: str) -> bytes:
    if not text or "=" in text:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypt_mrn_column(
    key: MrnKey, registration: str, profile_version: str, canonical: Iterable[str | None]
) -> list[str | None]:
    """Deterministic AES-SIV pseudonyms of canonical MRNs (unpadded base64url).

    ``None`` (a failed row) stays ``None``. Every MRN is padded to
    a multiple of :data:`MRN_PAD_BLOCK` first, so tokens do not reveal the
    number's length (beyond short number versus FHIR id).
    """
    values = list(canonical)
    padded: dict[int, list[int]] = {}  # padded length -> positions, encrypted a batch at a time
    data: list[bytes] = []
    for position, value in enumerate(values):
        if value is None:
            data.append(b"")
            continue
        raw = value.encode("ascii")
        if not raw or len(raw) > MRN_PADDED_BYTES or _MRN_PAD in raw:
            raise PseudonymisationError(
                "MRN pseudonym input is not a canonical MRN (normalise it first)"
            )
        data.append(raw)
        padded.setdefault(-(-len(raw) // MRN_PAD_BLOCK) * MRN_PAD_BLOCK, []).append(position)
    out: list[str | None] = [None] * len(values)
    ad = _associated_data(registration, profile_version)
    for length, positions in padded.items():
        rows = np.frombuffer(
            b"".join([data[p].ljust(length, _MRN_PAD) for p in positions]), np.uint8
        ).reshape(len(positions), length)
        for position, token in zip(
            positions, b64url_rows(siv_encrypt_rows(key.secret, ad, rows)), strict=True
        ):
            out[position] = token
    return out


def encrypt_mrn(key: MrnKey, registration: str, profile_version: str, canonical: str) -> str:
    """AES-SIV pseudonym of one canonical MRN; equal MRNs give equal pseudonyms."""
    token = encrypt_mrn_column(key, registration, profile_version, [canonical])[0]
    assert token is not None
    return token


def reveal_mrn(key: MrnKey, registration: str, profile_version: str, token: str) -> str:
    """The canonical MRN behind a pseudonym, for the hospital that made it.

    Raises :class:`PseudonymisationError` when the token was not made with
    this key, registration and profile version (or was altered).
    """
    try:
        data = AESSIV(key.secret).decrypt(
            _unb64url(token), _associated_data(registration, profile_version)
        )
    except (InvalidTag, ValueError, binascii.Error):
        raise PseudonymisationError(
            f"MRN pseudonym does not open with MRN key version {key.version} for "
            f"registration {registration} and profile {profile_version}"
        ) from None
    return data.rstrip(_MRN_PAD).decode("ascii")


# --- whole batches ------------------------------------------------------------------------


def apply_source_step(
    canonical: CanonicalColumns, source_key: SourceKey, mrn_key: MrnKey | None = None
) -> SourceBatch:
    """Run the source step over every type of a normalised batch.

    The registration is the source key's; an MRN column needs ``mrn_key``
    (:class:`ConfigError` otherwise). Failures of normalisation are carried
    over so the caller sees one result per batch.
    """
    registration = source_key.registration
    values: dict[PseudonymType, list[str | None]] = {}
    key_versions: dict[PseudonymType, int] = {}
    for type_, column in canonical.values.items():
        if type_ is PseudonymType.MRN:
            if mrn_key is None:
                raise ConfigError(f"registration {registration} asks for MRN but no MRN key is set")
            values[type_] = encrypt_mrn_column(
                mrn_key, registration, canonical.profile_version, column
            )
            key_versions[type_] = mrn_key.version
        else:
            values[type_] = hash_column(source_key, canonical.profile_version, type_, column)
            key_versions[type_] = source_key.version
    log.debug(
        "source step for %s: %d rows, %d types, %d failures",
        registration,
        canonical.num_rows,
        len(values),
        len(canonical.failures),
    )
    return SourceBatch(
        registration,
        canonical.profile_version,
        canonical.num_rows,
        values,
        key_versions,
        canonical.failures,
    )
