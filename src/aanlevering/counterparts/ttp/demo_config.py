"""A working reference TTP setup for the demo and the tests: config, keys and client API keys.

``aanlevering ttp init-config --out DIR`` writes:

* ``DIR/ttp.yaml``: organisations (API key hashes), registrations, key versions;
* ``DIR/keys/master.key``: random master key (hex), per-registration keys are derived from it;
* ``DIR/clients/<organisation>.key``: the clear API key of each organisation, to hand to
  its client (``AANLEVERING_TTP_API_KEY_FILE``);
* ``DIR/forwarding/<registry holder>.key``: the API key the TTP presents when it forwards
  local-mode deliveries to that registry holder (its receiver must accept it).

All key files are created with mode 0600. Registrations default to the three
example registrations of the catalogue; pass others (or a catalogue) to align.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aanlevering.counterparts.ttp.auth import hash_api_key, new_api_key
from aanlevering.errors import ConfigError

CONFIG_NAME = "ttp.yaml"
DEMO_HOSPITALS: tuple[str, ...] = ("demo-hospital", "demo-hospital-b")
ADMIN_ORGANISATION = "ttp-admin"
DEFAULT_FORWARD_BASE_URL = "http://127.0.0.1:8766"

HEADER = """\
# Reference TTP configuration (aanlevering ttp init-config; docs/ttp.md).
# Holds API key HASHES and key file paths only; paths are relative to this file.
# Rotate a registration's keys with: aanlevering ttp rotate --config <this file> --registration ID
"""


@dataclass(frozen=True)
class DemoRegistration:
    """A registration the demo TTP serves: who holds it and which types it may receive."""

    id: str
    registry_holder: str
    types: tuple[str, ...]


#: Surgical audit, trauma and cancer: the catalogue's example registrations.
DEFAULT_REGISTRATIONS: tuple[DemoRegistration, ...] = (
    DemoRegistration("dica-dsaa", "dica", ("NGGV", "RGG", "MRN")),
    DemoRegistration("ldtr", "lnaz", ("NGG", "C", "MRN")),
    DemoRegistration("nkr-borst", "iknl", ("NGGV", "C", "MRN")),
)


@dataclass(frozen=True)
class DemoSetup:
    """Where init-config put things."""

    config: Path
    api_key_files: Mapping[str, Path]
    forwarding_key_files: Mapping[str, Path]


def parse_registration(spec: str) -> DemoRegistration:
    """``ID:HOLDER:TYPE,TYPE`` (the CLI's --registration); ConfigError when malformed."""
    parts = spec.split(":")
    if len(parts) != 3 or not all(parts):
        raise ConfigError(f"--registration {spec!r}: expected ID:REGISTRY_HOLDER:TYPE,TYPE,...")
    return DemoRegistration(parts[0], parts[1], tuple(t for t in parts[2].split(",") if t))


def parse_hospital(
    spec: str, registrations: Iterable[DemoRegistration]
) -> tuple[str, tuple[str, ...]]:
    """``ID`` (delivers to every registration) or ``ID:REG,REG`` (the CLI's --hospital)."""
    known = [reg.id for reg in registrations]
    hospital, _, listed = spec.partition(":")
    chosen = tuple(r for r in listed.split(",") if r) if listed else tuple(known)
    unknown = sorted(set(chosen) - set(known))
    if not hospital or unknown:
        raise ConfigError(
            f"--hospital {spec!r}: expected ID or ID:REGISTRATION,...; unknown {unknown}"
        )
    return hospital, chosen


def registrations_from_catalogue(catalogue_dir: Path) -> tuple[DemoRegistration, ...]:
    """The registrations of a hospital's catalogue, so the demo TTP matches it."""
    from aanlevering.catalogue import load_catalogue

    return tuple(
        DemoRegistration(
            reg.id,
            reg.registry_holder_id,
            tuple(ptype.value for ptype in reg.pseudonymisation.types),
        )
        for reg in load_catalogue(catalogue_dir)
    )


def write_secret(path: Path, content: str) -> None:
    """Write a key file readable by its owner only (refuses to overwrite)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content + "\n")


def write_demo_config(
    out: Path,
    *,
    registrations: Iterable[DemoRegistration] = DEFAULT_REGISTRATIONS,
    hospitals: Iterable[str] = DEMO_HOSPITALS,
    forward_base_url: str = DEFAULT_FORWARD_BASE_URL,
    fault_injection: bool = False,
    forward_ca_bundle: Path | None = None,
) -> DemoSetup:
    """Create a fresh config directory; ConfigError if one is already there (keys would change)."""
    registrations = tuple(registrations)
    config_path = out / CONFIG_NAME
    if config_path.exists():
        raise ConfigError(f"{config_path} already exists; remove the folder to start over")
    out.mkdir(parents=True, exist_ok=True)
    write_secret(out / "keys" / "master.key", secrets.token_hex(32))

    holders = sorted({reg.registry_holder for reg in registrations})
    delivers = dict(parse_hospital(spec, registrations) for spec in hospitals)
    roles = [(org, "hospital") for org in delivers]
    roles += [(org, "registry_holder") for org in holders]
    roles.append((ADMIN_ORGANISATION, "admin"))
    organisations: list[dict[str, Any]] = []
    key_files: dict[str, Path] = {}
    for org, role in roles:
        key = new_api_key()
        key_files[org] = out / "clients" / f"{org}.key"
        write_secret(key_files[org], key)
        organisation: dict[str, Any] = {
            "id": org,
            "role": role,
            "api_key_sha256": hash_api_key(key),
        }
        if role == "hospital":
            organisation["registrations"] = list(delivers[org])
        organisations.append(organisation)
    forwarding: dict[str, Path] = {}
    for holder in holders:
        forwarding[holder] = out / "forwarding" / f"{holder}.key"
        write_secret(forwarding[holder], new_api_key())

    document: dict[str, Any] = {
        "version": 1,
        "audit_log": "audit.jsonl",
        "master_key_file": "keys/master.key",
        "forwarding": {
            "max_attempts": 4,
            "backoff_seconds": 0.5,
            "timeout_seconds": 30,
            **({"ca_bundle": str(forward_ca_bundle.resolve())} if forward_ca_bundle else {}),
        },
        "testing": {"fault_injection": fault_injection},
        "organisations": organisations,
        "registrations": [
            {
                "id": reg.id,
                "registry_holder": reg.registry_holder,
                "types": list(reg.types),
                "profiles": ["nl-2026.1"],
                "forward_url": f"{forward_base_url.rstrip('/')}/registrations/{reg.id}/deliveries",
                "forward_api_key_file": f"forwarding/{reg.registry_holder}.key",
                "keys": [{"version": 1, "status": "active"}],
            }
            for reg in registrations
        ],
    }
    write_config_document(config_path, document)
    return DemoSetup(config=config_path, api_key_files=key_files, forwarding_key_files=forwarding)


def write_config_document(path: Path, document: Mapping[str, Any]) -> None:
    """Write a config atomically (temp file + rename), with the standard header."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(
        HEADER + yaml.safe_dump(dict(document), sort_keys=False, width=100), encoding="utf-8"
    )
    temporary.replace(path)
