"""Key rotation: add a key version to a registration, retire old ones.

``rotate`` makes a new version active with a fresh random secret file of its
own (never derived from the master key: if the master key is what leaked, a
derived successor would be no better), and moves the previous active version
to ``transition``, so its temporary pseudonyms stay exchangeable and its MRN
pseudonyms reversible. ``retire`` ends that: nothing made under a retired
version can be opened any more. The running TTP reads its config at start;
restart it to apply a change. Every change is checked with the normal config
loader before it replaces the file.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from aanlevering.counterparts.ttp.config import load_config, read_config_document
from aanlevering.counterparts.ttp.demo_config import write_config_document, write_secret
from aanlevering.errors import ConfigError


def _registration(document: dict[str, Any], path: Path, registration_id: str) -> dict[str, Any]:
    for registration in document.get("registrations", []):
        if isinstance(registration, dict) and registration.get("id") == registration_id:
            found: dict[str, Any] = registration
            return found
    known = ", ".join(r.get("id", "?") for r in document.get("registrations", []))
    raise ConfigError(f"{path}: no registration {registration_id!r} (known: {known})")


def _save_checked(path: Path, document: dict[str, Any]) -> None:
    candidate = path.with_name(f".{path.name}.candidate")
    write_config_document(candidate, document)
    try:
        load_config(candidate)
    except ConfigError:
        candidate.unlink()
        raise
    candidate.replace(path)


def rotate(config_path: Path, registration_id: str) -> int:
    """Add and activate a new key version; returns its number."""
    config_path = config_path.resolve()
    load_config(config_path)
    document = read_config_document(config_path)
    registration = _registration(document, config_path, registration_id)
    keys: list[dict[str, Any]] = registration["keys"]
    version = int(max(key["version"] for key in keys)) + 1
    secret_name = f"keys/{registration_id}-v{version}.key"
    write_secret(config_path.parent / secret_name, secrets.token_hex(32))
    for key in keys:
        if key["status"] == "active":
            key["status"] = "transition"
    keys.append({"version": version, "status": "active", "secret_file": secret_name})
    _save_checked(config_path, document)
    return version


def retire(config_path: Path, registration_id: str, version: int) -> None:
    """Retire a transition version: its pseudonyms can no longer be exchanged or reversed."""
    config_path = config_path.resolve()
    load_config(config_path)
    document = read_config_document(config_path)
    registration = _registration(document, config_path, registration_id)
    for key in registration["keys"]:
        if key["version"] == version:
            if key["status"] == "active":
                raise ConfigError(
                    f"{config_path}: version {version} of {registration_id!r} is active; "
                    "rotate first, then retire it"
                )
            key["status"] = "retired"
            _save_checked(config_path, document)
            return
    raise ConfigError(f"{config_path}: {registration_id!r} has no key version {version}")
