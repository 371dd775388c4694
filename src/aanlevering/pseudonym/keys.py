"""Where the hospital keeps its source-step keys, and creating demo ones.

Per registration, the source key (HMAC, the same at every hospital: handed out
by the TTP) lives in ``<secrets>/source-keys/<registration>.json``; the
hospital's own MRN key (AES-SIV, never shared) in ``<secrets>/mrn-key.json``.
Production places the TTP's key files there; the embedded default creates
random ones with :func:`ensure_demo_keys`. Hospitals of one registration
share its source key with ``aanlevering keys export`` / ``keys import``
(:func:`export_source_key`, :func:`import_source_key`; decision 0224).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aanlevering.errors import ConfigError
from aanlevering.events.store import EventStore
from aanlevering.private_files import make_private_folder
from aanlevering.pseudonym.key_check import SourceKeyCheck, source_key_check
from aanlevering.pseudonym.key_continuity import check_key_continuity
from aanlevering.pseudonym.source_step import (
    MrnKey,
    SourceKey,
    load_mrn_key,
    load_source_key,
    new_key_json,
)
from aanlevering.settings import Settings

log = logging.getLogger(__name__)


def source_key_path(settings: Settings, registration: str) -> Path:
    """Key file of one registration's source key."""
    return settings.secrets_dir / "source-keys" / f"{registration}.json"


def mrn_key_path(settings: Settings) -> Path:
    """Key file of this hospital's MRN key."""
    return settings.secrets_dir / "mrn-key.json"


def load_keys(settings: Settings, registration: str) -> tuple[SourceKey, MrnKey]:
    """The source and MRN keys for a registration; ConfigError says which file is missing."""
    source, mrn = source_key_path(settings, registration), mrn_key_path(settings)
    for path in (source, mrn):
        if not path.is_file():
            raise ConfigError(
                f"key file {path} is missing: place the TTP's source key there "
                "(production) or run `aanlevering keys init-demo` (embedded default)"
            )
    return load_source_key(registration, path=source), load_mrn_key(path=mrn)


#: What another MRN key would break (decision 0451).
MRN_KEY_MISMATCH = (
    "MRN pseudonyms made with another key differ from those delivered before: the registry "
    "holder would take the hospital's patients for new ones, and the earlier MRN pseudonyms "
    "could no longer be revealed, so nothing is done."
)


def load_checked_keys(
    settings: Settings, store: EventStore, registration: str
) -> tuple[SourceKey, MrnKey]:
    """:func:`load_keys`, with the MRN key checked against the event log (decision 0451).

    Why: the MRN key is the hospital's own and made by ``keys init-demo``
    when missing, so a home restored without it, or a worker provisioned
    without it, silently gets a new one. The first use records its check
    value (per key version) in the log; another key of that version is a
    ConfigError before the TTP sees any patient. The source key is checked
    by the TTP on every request (decision 0224).
    """
    source, mrn = load_keys(settings, registration)
    check_key_continuity(
        store,
        settings.provider_id,
        f"mrn-v{mrn.version}",
        mrn.secret,
        mrn_key_path(settings),
        consequence=MRN_KEY_MISMATCH,
    )
    return source, mrn


def _write_secret(path: Path, text: str) -> None:
    make_private_folder(path.parent)  # an existing folder keeps its mode (decision 0702)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def ensure_demo_keys(settings: Settings, registrations: Iterable[str]) -> list[Path]:
    """Create random keys that are missing (never overwrite); return the files created."""
    created = []
    for registration in registrations:
        path = source_key_path(settings, registration)
        if not path.exists():
            _write_secret(path, new_key_json(version=1, registration=registration))
            created.append(path)
    if not mrn_key_path(settings).exists():
        _write_secret(mrn_key_path(settings), new_key_json(version=1))
        created.append(mrn_key_path(settings))
    for path in created:
        log.info("created demo key %s", path)
    return created


EXPORT_FORMAT = "aanlevering-source-key/1"


@dataclass(frozen=True)
class ImportedKey:
    """What ``keys import`` did: the key's registration, version and check value."""

    registration: str
    version: int
    check_value: str
    replaced_version: int | None
    unchanged: bool


def export_source_key(settings: Settings, registration: str, out: Path) -> SourceKeyCheck:
    """Write this hospital's source key of ``registration`` to ``out`` (0600, never overwritten).

    The file holds the key version and its check value, so the hospital that
    imports it (and the TTP, on every request) can tell it is the same key.
    """
    key = load_source_key(registration, path=source_key_path(settings, registration))
    check = source_key_check(key)
    document = {
        "format": EXPORT_FORMAT,
        "registration": registration,
        "version": key.version,
        "secret": base64.b64encode(key.secret).decode("ascii"),
        "check_value": check.check_value,
    }
    try:
        _write_secret(out, json.dumps(document, indent=2) + "\n")
    except FileExistsError:
        raise ConfigError(f"{out} already exists; choose another file name") from None
    return check


def import_source_key(settings: Settings, path: Path, *, replace: bool = False) -> ImportedKey:
    """Install a source key exported by another hospital (or the TTP) for its registration.

    The check value in the file must match the key (a damaged or edited file
    is refused). A newer version replaces the installed key (rotation); the
    same version with another secret, or an older version, is refused unless
    ``replace``: digests made with different keys never link.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: not a source key export ({type(error).__name__})") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ConfigError(f"{path}: not a source key export (format {EXPORT_FORMAT} expected)")
    registration = str(document.get("registration", ""))
    key = load_source_key(registration, path=path)
    check = source_key_check(key)
    if document.get("check_value") != check.check_value:
        raise ConfigError(
            f"{path}: the check value in the file does not match its key for {registration} "
            f"version {key.version}: the file is damaged or was edited; ask for a new export"
        )
    target = source_key_path(settings, registration)
    replaced: int | None = None
    if target.is_file():
        current = load_source_key(registration, path=target)
        current_check = source_key_check(current)
        if current.version == key.version and current_check == check:
            return ImportedKey(registration, key.version, check.check_value, None, True)
        if current.version >= key.version and not replace:
            raise ConfigError(
                f"{target} already holds source key {registration} version {current.version} "
                f"(check value {current_check.check_value}); the import is version {key.version} "
                f"(check value {check.check_value}). Only a newer version replaces it; pass "
                "--replace to install this one anyway (digests of different keys never link)"
            )
        replaced = current.version
    text = json.dumps(
        {
            "registration": registration,
            "version": key.version,
            "secret": base64.b64encode(key.secret).decode("ascii"),
        }
    )
    temporary = target.with_name(f".{target.name}.import")
    temporary.unlink(missing_ok=True)
    _write_secret(temporary, text)
    temporary.replace(target)
    log.info("installed source key %s version %d", registration, key.version)
    return ImportedKey(registration, key.version, check.check_value, replaced, False)
