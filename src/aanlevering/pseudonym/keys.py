"""Where the hospital keeps its source-step keys, and creating demo ones.

Per registration, the source key (HMAC, the same at every hospital: handed out
by the TTP) lives in ``<secrets>/source-keys/<registration>.json``; the
hospital's own MRN key (AES-SIV, never shared) in ``<secrets>/mrn-key.json``.
Production places the TTP's key files there; the embedded default creates
random ones with :func:`ensure_demo_keys`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from aanlevering.errors import ConfigError
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


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
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
