"""Patient references: how events name a patient without identifying them.

A patient reference is ``pr_`` + 32 hex characters of HMAC-SHA256, keyed with
a local secret, over a normalised identifier and its scheme (``bsn``, ``mrn``).
The same patient always gets the same reference, so the hospital can answer
"which deliveries contained this patient" (needed when a registry holder asks
for deletion after an opt-out) by hashing the identifier again; without the
key nobody can test a guessed BSN against the log. The key never leaves the
hospital, is not the TTP's key, and never appears in logs, reprs or pickles.

The key lives in ``<secrets_dir>/patient-ref.key`` (32 random bytes, mode
0600, directory 0700), created on first use. Losing it breaks the link between
old and new references, so back it up with the event log.

It lives in ``pseudonym`` (not in ``events``, which only stores references):
an MRN reference hashes the MRN as the pseudonym profile normalises it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from aanlevering.errors import AanleveringError, ConfigError, PseudonymisationError
from aanlevering.private_files import make_private_folder
from aanlevering.pseudonym.normalise.mrn import normalise_mrn
from aanlevering.settings import Settings

if TYPE_CHECKING:
    from aanlevering.events.store import EventStore

log = logging.getLogger(__name__)

KEY_FILE_NAME = "patient-ref.key"
KEY_BYTES = 32
PREFIX = "pr_"
_HEX_CHARS = 32  # 128 bits: collisions are negligible at national scale
_DOMAIN = b"aanlevering/patient-ref/v1"
_SCHEME = re.compile(r"[a-z][a-z0-9-]{0,31}")
_REF = re.compile(rf"{PREFIX}[0-9a-f]{{{_HEX_CHARS}}}")
_REFS = re.compile(rf"(?:{PREFIX}[0-9a-f]{{{_HEX_CHARS}}}\n)*")
_SEPARATORS = re.compile(r"[\s.\-/]+")
#: MRNs that both normalisations leave unchanged (see PatientRefHasher.mrn_ref).
_PLAIN_MRN = re.compile(r"[A-Z0-9_]+")
_PLAIN_MRN_MAX = 64
#: The same test in Arrow's (RE2) syntax: \A and \z are the ends of the whole value.
_PLAIN_MRN_RE2 = r"\A[A-Z0-9_]+\z"
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_MRN_MESSAGE = b"\x00".join((_DOMAIN, b"mrn", b""))


def is_patient_ref(value: str) -> bool:
    """Whether ``value`` has the shape of a patient reference."""
    return bool(_REF.fullmatch(value))


def all_patient_refs(values: list[str]) -> bool:
    """Whether every value is a patient reference (one regex scan for the whole list)."""
    if not {*map(type, values)} <= {str}:  # plain strings only (no subclasses)
        return False
    joined = "\n".join(values) + "\n" if values else ""
    # A value holding a line break could pass as two; the count rules that out.
    return joined.count("\n") == len(values) and _REFS.fullmatch(joined) is not None


def normalise_identifier(identifier: str, scheme: str) -> str:
    """The canonical form hashed for ``scheme``; equal patients must give equal text.

    Unicode NFKC, separators (spaces, dots, dashes, slashes) removed, upper
    case. A BSN must then be 8 or 9 digits (8-digit BSNs get their leading zero
    back). Raises :class:`PseudonymisationError` without echoing the value.
    """
    if not isinstance(identifier, str):
        raise PseudonymisationError(f"patient reference ({scheme}): identifier must be a string")
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", identifier)).upper()
    if not text:
        raise PseudonymisationError(f"patient reference ({scheme}): identifier is empty")
    if scheme == "bsn":
        if not text.isdigit() or len(text) not in (8, 9):
            raise PseudonymisationError("patient reference (bsn): expected 8 or 9 digits")
        text = text.zfill(9)
    return text


class PatientRefHasher:
    """Keyed, stable patient references; build with :meth:`from_settings` in production."""

    __slots__ = ("__key", "__mrn_hmac")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) < 16:
            raise ConfigError("patient reference key must be at least 16 bytes")
        self.__key = key
        self.__mrn_hmac: crypto_hmac.HMAC | None = None

    @classmethod
    def from_settings(cls, settings: Settings, store: EventStore) -> PatientRefHasher:
        """The hasher with this installation's key, created on first use.

        The key must be the one ``store``'s patient references were made with
        (:mod:`aanlevering.pseudonym.key_continuity`); ConfigError otherwise.
        """
        return cls(checked_local_key(settings, store, KEY_FILE_NAME, "patient-ref"))

    def ref(self, identifier: str, *, scheme: str) -> str:
        """The patient reference of ``identifier`` under ``scheme`` (``"bsn"``, ``"mrn"``, ...).

        The scheme is part of the hashed message, so a BSN and an MRN that happen
        to be the same digits never share a reference.
        """
        if not _SCHEME.fullmatch(scheme):
            raise PseudonymisationError(
                "patient reference: scheme must be lowercase, like 'bsn' or 'mrn'"
            )
        message = b"\x00".join(
            (_DOMAIN, scheme.encode(), normalise_identifier(identifier, scheme).encode())
        )
        digest = hmac.new(self.__key, message, hashlib.sha256).hexdigest()
        return PREFIX + digest[:_HEX_CHARS]

    def mrn_ref(self, mrn: str) -> str:
        """``ref(normalise_mrn(mrn), scheme="mrn")``, quicker for MRNs already canonical.

        Why: the opt-out filter hashes every patient number of an extract (a
        million at hospital scale). An MRN of only upper-case letters, digits
        and ``_`` is its own canonical form under both normalisations, so it is
        hashed in one HMAC call; any other MRN takes the full path (same result).
        """
        if len(mrn) <= _PLAIN_MRN_MAX and _PLAIN_MRN.fullmatch(mrn):
            mac = self.__primed_mrn_hmac().copy()
            mac.update(mrn.encode("ascii"))
            return PREFIX + mac.finalize().hex()[:_HEX_CHARS]
        return self.ref(normalise_mrn(mrn), scheme="mrn")

    def mrn_refs(self, mrns: pa.Array) -> pa.StringArray:
        """:meth:`mrn_ref` of every value of a string array (null where null or refused).

        Why: an extract holds a million distinct MRNs. Canonical MRNs (found
        with one Arrow regex) cost one copy of a primed HMAC each in Python;
        the prefix and hex text are made for all of them at once in NumPy.
        Other MRNs take :meth:`mrn_ref` one by one (same result); one it
        refuses (:class:`AanleveringError`) gives null, for the caller to report.
        """
        values = mrns.cast(pa.string())
        plain = pc.fill_null(
            pc.and_(
                pc.match_substring_regex(values, _PLAIN_MRN_RE2),
                pc.less_equal(pc.utf8_length(values), _PLAIN_MRN_MAX),
            ),
            False,
        )
        refs = self.__plain_mrn_refs(pc.filter(values, plain).cast(pa.binary()).to_pylist())
        if len(refs) == len(values):  # every MRN canonical (the usual extract)
            return refs
        refs = pc.replace_with_mask(pa.nulls(len(values), pa.string()), plain, refs)
        others = pc.and_(pc.invert(plain), pc.is_valid(values))
        if pc.any(others).as_py():
            refs = pc.replace_with_mask(
                refs,
                others,
                pa.array(
                    [self.__mrn_ref_or_none(m) for m in pc.filter(values, others).to_pylist()],
                    pa.string(),
                ),
            )
        return refs

    def __mrn_ref_or_none(self, mrn: str) -> str | None:
        try:
            return self.mrn_ref(mrn)
        except AanleveringError:
            return None

    def __plain_mrn_refs(self, mrns: list[bytes]) -> pa.StringArray:
        """References of canonical MRNs (ASCII bytes): the HMACs in Python, the text in NumPy."""
        fresh = self.__primed_mrn_hmac().copy

        def digest(mrn: bytes) -> bytes:
            mac = fresh()
            mac.update(mrn)
            return mac.finalize()

        count = len(mrns)
        digests = np.frombuffer(b"".join(map(digest, mrns)), dtype=np.uint8).reshape(count, 32)
        kept = digests[:, : _HEX_CHARS // 2]
        width = len(PREFIX) + _HEX_CHARS
        text = np.empty((count, width), dtype=np.uint8)
        text[:, : len(PREFIX)] = np.frombuffer(PREFIX.encode("ascii"), dtype=np.uint8)
        text[:, len(PREFIX) :: 2] = _HEX_DIGITS[kept >> 4]
        text[:, len(PREFIX) + 1 :: 2] = _HEX_DIGITS[kept & 0x0F]
        offsets = np.arange(0, width * (count + 1), width, dtype=np.int64)
        refs = pa.LargeStringArray.from_buffers(
            count, pa.py_buffer(offsets), pa.py_buffer(text.tobytes())
        )
        return refs.cast(pa.string())

    def __primed_mrn_hmac(self) -> crypto_hmac.HMAC:
        """HMAC-SHA256 under the key, fed the MRN message prefix once; copy it per MRN.

        Why ``cryptography`` and a copy: no home-made primitive (ARCHITECTURE.md),
        and copying the primed HMAC skips the key set-up and the prefix per MRN,
        quicker than a fresh ``hmac.digest`` each (the standard library's
        ``HMAC.copy`` is slower: Python around the C state).
        """
        if self.__mrn_hmac is None:
            mac = crypto_hmac.HMAC(self.__key, hashes.SHA256())
            mac.update(_MRN_MESSAGE)
            self.__mrn_hmac = mac
        return self.__mrn_hmac

    def __repr__(self) -> str:
        return "PatientRefHasher(key=<hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            "PatientRefHasher holds a secret key and can not be pickled (e.g. into XCom)"
        )


def checked_local_key(settings: Settings, store: EventStore, file_name: str, name: str) -> bytes:
    """A hospital-local key from the secrets folder, checked against the event log."""
    from aanlevering.pseudonym.key_continuity import check_key_continuity

    path = settings.secrets_dir / file_name
    key = load_or_create_key(path)
    check_key_continuity(store, settings.provider_id, name, key, path)
    return key


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, or create it (32 random bytes, 0600, directory 0700) if missing.

    Creation is atomic (write a temporary file, then hard-link it into place),
    so processes starting together agree on one key. A key file readable by
    group or others is refused: fix it with ``chmod 600``.
    """
    if not path.exists():
        _create_key(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        key = path.read_bytes()
    except OSError as error:
        raise ConfigError(
            f"cannot read the patient reference key {path}: {error.strerror}"
        ) from error
    if mode & 0o077:
        raise ConfigError(
            f"patient reference key {path} is accessible to group or others (mode {mode:o}); "
            "run chmod 600 on it"
        )
    if len(key) != KEY_BYTES:
        raise ConfigError(f"patient reference key {path} must hold exactly {KEY_BYTES} bytes")
    return key


def _create_key(path: Path) -> None:
    directory = path.parent
    try:
        make_private_folder(directory)  # an existing folder keeps its mode (decision 0702)
        temporary = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(KEY_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)
                log.info("created a new patient reference key in %s", directory)
            except FileExistsError:
                log.debug("another process created the patient reference key first")
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as error:
        raise ConfigError(
            f"cannot create the patient reference key {path}: {error.strerror}"
        ) from error
