"""Where a scheduled run finds a registration's EHR extract, and where it may deliver instead.

A scheduler has no ``--input`` argument, so the location is a setting:

1. ``AANLEVERING_INPUT__<ID>`` (registration id upper-cased, ``-`` as ``_``,
   e.g. ``AANLEVERING_INPUT__DICA_DSAA``): that file or folder;
2. ``AANLEVERING_INPUT_DIR``: its ``<registration id>`` subfolder;
3. otherwise the embedded demo: ``$AANLEVERING_HOME/demo/clean/csv-utf8`` for
   CSV registrations, ``.../fhir-bulk/<id>`` for FHIR-only ones.

``AANLEVERING_OUTBOX__<ID>`` makes the registration's scheduled runs deliver
into that folder (a manual-upload outbox) instead of its configured channel,
like ``aanlevering run --outbox``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.settings import Settings


def _env_name(prefix: str, registration_id: str) -> str:
    return prefix + registration_id.upper().replace("-", "_").replace(".", "_")


def input_path_for(
    config: RegistrationConfig, settings: Settings, env: Mapping[str, str] | None = None
) -> Path:
    """The EHR extract a scheduled run of ``config`` reads (see the module docstring)."""
    env = os.environ if env is None else env
    explicit = env.get(_env_name("AANLEVERING_INPUT__", config.id))
    if explicit:
        return Path(explicit).expanduser()
    root = env.get("AANLEVERING_INPUT_DIR")
    if root:
        return Path(root).expanduser() / config.id
    demo = settings.home / "demo" / "clean"
    if config.csv_source is None and config.fhir_source is not None:
        return demo / "fhir-bulk" / config.id
    return demo / "csv-utf8"


def outbox_for(config: RegistrationConfig, env: Mapping[str, str] | None = None) -> Path | None:
    """The outbox folder that replaces the configured channel, if one is set."""
    env = os.environ if env is None else env
    value = env.get(_env_name("AANLEVERING_OUTBOX__", config.id))
    return Path(value).expanduser() if value else None
