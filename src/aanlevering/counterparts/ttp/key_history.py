"""The key versions a TTP has used, kept so that a restored old config cannot roll them back.

Rotation makes a new key version active and retirement ends an old one
(:mod:`.rotation`); both live in the config file only. A config restored from
a backup taken before a rotation would make the TTP issue pseudonyms under the
superseded (perhaps compromised) version again, and one edited back from
``retired`` would reopen pseudonyms that were meant to be closed for good. So
the TTP keeps, next to the config, per registration the newest version it has
seen, the newest it made active and the versions it saw retired, and refuses
to start on a config that goes back on any of them (decision 1028).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aanlevering.counterparts.ttp.config import Registration, TTPConfig
from aanlevering.errors import ConfigError

STATE_NAME = "key-versions.json"


def _history(registration: Registration) -> dict[str, Any]:
    return {
        "newest": max(key.version for key in registration.keys),
        "active": registration.active_version,
        "retired": sorted(key.version for key in registration.keys if key.status == "retired"),
    }


def _rollback(registration: Registration, seen: Mapping[str, Any]) -> str | None:
    """What of ``seen`` the registration's keys go back on, or None."""
    now = _history(registration)
    statuses = {key.version: key.status for key in registration.keys}
    if now["newest"] < seen["newest"]:
        return f"it has no key version {seen['newest']}, which this TTP had before"
    if now["active"] < seen["active"]:
        return (
            f"version {now['active']} is active, but this TTP had version {seen['active']} active"
        )
    reopened = [v for v in seen["retired"] if statuses.get(v, "retired") != "retired"]
    if reopened:
        return f"version {reopened[0]} is {statuses[reopened[0]]}, but this TTP had retired it"
    return None


def check_and_record(config: TTPConfig, state_file: Path | None = None) -> None:
    """Refuse (ConfigError) a config that rolls back a key version; else record the config's.

    The state only moves forward: a registration's entry is replaced by the
    config's once the config was found to go back on nothing. Delete the file
    (TTP stopped) to roll back deliberately, before any pseudonym was issued
    under the version dropped.
    """
    path = state_file or config.path.parent / STATE_NAME
    seen: dict[str, Any] = {}
    if path.is_file():
        try:
            seen = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ConfigError(
                f"{path}: not valid JSON ({error}); the key history is lost"
            ) from None
    for registration in config.registrations.values():
        earlier = seen.get(registration.id)
        problem = _rollback(registration, earlier) if isinstance(earlier, dict) else None
        if problem is not None:
            raise ConfigError(
                f"{config.path}: registration {registration.id!r} rolls its keys back: {problem} "
                f"(recorded in {path.name}). Restore the newer config; to roll back on purpose, "
                f"delete {path.name} while the TTP is stopped"
            )
    updated = {**seen, **{r.id: _history(r) for r in config.registrations.values()}}
    if updated != seen:
        temporary = path.with_name(f".{path.name}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(updated, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
