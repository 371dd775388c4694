"""Where a scheduled run finds a registration's EHR extract, and where it may deliver instead.

A scheduler has no ``--input`` argument, so the location is a setting:

1. ``AANLEVERING_INPUT__<ID>`` (registration id upper-cased, ``-`` as ``_``,
   e.g. ``AANLEVERING_INPUT__DICA_DSAA``): that file or folder;
2. ``AANLEVERING_INPUT_DIR``: its ``<registration id>`` subfolder;
3. otherwise a ConfigError naming both settings, before the run reads or
   records anything.

There is no default, not even the embedded demo data (decision 0705): a
production home that holds ``$AANLEVERING_HOME/demo`` (it once ran ``make run``)
would otherwise deliver synthetic patients to a real registry holder under the
hospital's name and record them as delivered. The provider id cannot tell the
demo from production (compose.env.example ships ``demo-hospital``), so
``make run`` sets every registration's input itself (scripts/run.sh).

``AANLEVERING_OUTBOX__<ID>`` makes the registration's scheduled runs deliver
into that folder (a manual-upload outbox) instead of its configured channel,
like ``aanlevering run --outbox``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.deliver.outbox_place import outbox_setting
from aanlevering.errors import ConfigError


def _env_name(prefix: str, registration_id: str) -> str:
    return prefix + registration_id.upper().replace("-", "_").replace(".", "_")


def input_path_for(config: RegistrationConfig, env: Mapping[str, str] | None = None) -> Path:
    """The EHR extract a scheduled run of ``config`` reads (see the module docstring).

    Why no default: whatever a default pointed at would be delivered as this
    hospital's data without anyone having said so; the home is not consulted.
    """
    env = os.environ if env is None else env
    setting = _env_name("AANLEVERING_INPUT__", config.id)
    explicit = env.get(setting)
    if explicit:
        return Path(explicit).expanduser()
    root = env.get("AANLEVERING_INPUT_DIR")
    if root:
        return Path(root).expanduser() / config.id
    raise ConfigError(
        f"no EHR export is set for {config.id}: set {setting} to its export (file or folder), "
        f"or AANLEVERING_INPUT_DIR to a folder holding it as {config.id}/ (docs/airflow.md, "
        "'Where the DAGs read the EHR extract'); a command takes --input. Nothing was read "
        "or recorded"
    )


def outbox_for(config: RegistrationConfig, env: Mapping[str, str] | None = None) -> Path | None:
    """The outbox folder that replaces the configured channel, if one is set."""
    env = os.environ if env is None else env
    value = env.get(outbox_setting(config.id))
    return Path(value).expanduser() if value else None
