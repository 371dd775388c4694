"""A cheap read of the registration catalogue for DAG parsing.

The DAG processor re-parses DAG files every few seconds, so the factory must
not load dictionaries, validate schemas or import the pipeline. This module
reads only the few top-level fields of each registration YAML that a DAG's
shape depends on (id, name, frequency, owner, registry holder, format). Full
validation happens in the tasks (and in ``aanlevering registrations check``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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


#: A registration id as the registration schema allows it (also the DAG id suffix).
_ID = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class BrokenRegistration:
    """A registration file whose DAG cannot be built: the file, its name and why."""

    file: str
    name: str
    message: str


def _listing(file: Path) -> RegistrationListing:
    """The listing of one registration file; ConfigError naming the file and field."""
    try:
        raw = yaml_input.strict_load(yaml_input.read_hand_written(file))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{file}: cannot read: {error}") from None
    except (yaml.YAMLError, RecursionError) as error:
        raise ConfigError(f"{file}: invalid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: not a mapping")
    holder = raw.get("registry_holder") or {}
    delivery = raw.get("delivery") or {}
    if not isinstance(holder, dict) or not isinstance(delivery, dict):
        raise ConfigError(f"{file}: 'registry_holder' and 'delivery' must be mappings")
    registration_id = _text(raw, "id", file)
    if not _ID.match(registration_id) or registration_id != file.stem:
        raise ConfigError(
            f"{file}: 'id' must be the file name without .yaml, in lower-case letters, "
            "digits and '-'"
        )
    frequency = _text(raw, "frequency", file)
    if frequency not in FREQUENCIES:
        raise ConfigError(f"{file}: frequency must be one of {', '.join(FREQUENCIES)}")
    return RegistrationListing(
        id=registration_id,
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


def read_registrations(
    catalogue_dir: Path,
) -> tuple[list[RegistrationListing], list[BrokenRegistration]]:
    """The registrations that list, sorted by id, and the files that do not.

    The factory builds the DAGs of the first and a failing stand-in for each of
    the second, so one broken file does not take every DAG down with it.
    """
    listings: list[RegistrationListing] = []
    folder = catalogue_dir / "registrations"
    if not folder.is_dir():
        # The whole installation's setting is wrong: an import error, not zero DAGs.
        raise ConfigError(
            f"catalogue folder {catalogue_dir} has no 'registrations' folder "
            "(check AANLEVERING_CATALOGUE)"
        )
    broken = [
        BrokenRegistration(str(file), file.stem, f"{file}: {yaml_input.MISNAMED}")
        for file in yaml_input.misnamed_yaml_files(folder.iterdir())
    ]
    for file in sorted((catalogue_dir / "registrations").glob("*.yaml")):
        try:
            listings.append(_listing(file))
        except ConfigError as error:
            broken.append(BrokenRegistration(str(file), file.stem, str(error)))
    return sorted(listings, key=lambda r: r.id), broken


def list_registrations(catalogue_dir: Path) -> list[RegistrationListing]:
    """Every registration in ``catalogue_dir/registrations/*.yaml``, sorted by id.

    Raises ConfigError naming the file and field of the first file whose
    DAG-shaping fields are missing or wrong.
    """
    listings, broken = read_registrations(catalogue_dir)
    if broken:
        raise ConfigError(broken[0].message)
    return listings
