"""A cheap read of the registration catalogue for DAG parsing.

The DAG processor re-parses DAG files every few seconds, so the factory must
not load dictionaries, validate schemas or import the pipeline. This module
reads only the few top-level fields of each registration YAML that a DAG's
shape depends on (id, name, frequency, owner, registry holder, format). Full
validation happens in the tasks (and in ``aanlevering registrations check``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aanlevering import yaml_input
from aanlevering.errors import ConfigError

FREQUENCIES = ("month", "quarter", "year")


@dataclass(frozen=True)
class RegistrationListing:
    """What a registration's DAG needs to know at parse time."""

    id: str
    name: str
    description: str
    frequency: str
    owner: str
    registry_holder_id: str
    registry_holder_name: str
    format: str
    channel: str
    start: str
    source_file: str


def _text(raw: dict[str, Any], key: str, file: Path, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{file}: '{key}' must be a non-empty string")
    return value


def list_registrations(catalogue_dir: Path) -> list[RegistrationListing]:
    """Every registration in ``catalogue_dir/registrations/*.yaml``, sorted by id.

    Raises ConfigError naming the file and field when a DAG-shaping field is
    missing or wrong (the DAG processor shows it as an import error).
    """
    listings: list[RegistrationListing] = []
    for file in sorted((catalogue_dir / "registrations").glob("*.yaml")):
        raw = yaml_input.safe_load(file.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ConfigError(f"{file}: not a mapping")
        holder = raw.get("registry_holder") or {}
        delivery = raw.get("delivery") or {}
        frequency = _text(raw, "frequency", file, "year")
        if frequency not in FREQUENCIES:
            raise ConfigError(f"{file}: frequency must be one of {', '.join(FREQUENCIES)}")
        listings.append(
            RegistrationListing(
                id=_text(raw, "id", file),
                name=_text(raw, "name", file),
                description=str(raw.get("description") or "").strip(),
                frequency=frequency,
                owner=_text(raw, "owner", file, "aanlevering"),
                registry_holder_id=_text(holder, "id", file),
                registry_holder_name=str(holder.get("name") or holder.get("id")),
                format=_text(delivery, "format", file),
                channel=_text(delivery, "channel", file),
                start=str(raw.get("start") or "2026-01-01"),
                source_file=str(file),
            )
        )
    return sorted(listings, key=lambda r: r.id)
