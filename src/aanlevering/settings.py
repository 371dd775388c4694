"""Where the embedded default keeps its state, and how production overrides it.

All state (event log, staging, reports, Airflow home, secrets) lives under one
data directory, ``$AANLEVERING_HOME``, so an engineer can see, back up or wipe
it. Production points the same settings at PostgreSQL and real endpoints
through environment variables; nothing else changes.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aanlevering.demo_mode import DEMO_MODE_ENV, demo_mode
from aanlevering.errors import ConfigError
from aanlevering.private_files import make_process_private

_PACKAGE_DIR = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The source checkout this package runs from, if installed in editable mode."""
    candidate = _PACKAGE_DIR.parents[1]
    if (candidate / "pyproject.toml").is_file() and (candidate / "schemas").is_dir():
        return candidate
    return None


def _default_home() -> Path:
    root = checkout_root()
    return (root / "var") if root else Path.cwd() / "aanlevering-home"


def _default_catalogue() -> Path:
    root = checkout_root()
    return (root / "schemas" / "catalogue") if root else Path.cwd() / "catalogue"


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one process; build with :func:`load_settings`."""

    home: Path
    catalogue_dir: Path
    event_store_url: str
    provider_type: str
    #: ``AANLEVERING_PROVIDER_ID`` as set (checked), None when unset; read :attr:`provider_id`.
    configured_provider_id: str | None
    #: ``AANLEVERING_DEMO_MODE`` (decision 0710).
    demo_mode: bool = False

    @property
    def provider_id(self) -> str:
        """This hospital's id at the TTP; a ConfigError without a real one (decision 0711).

        Outside demo mode there is no default and the demo's id is refused.
        Why only on use: the reference counterparts, ``registrations check`` and
        the Airflow UI read settings too and never deliver as anyone; a run asks
        for the id before it makes a run folder, so it stops before anything.
        """
        configured = self.configured_provider_id
        if configured is None and self.demo_mode:
            return DEMO_PROVIDER_ID
        if configured is None:
            raise ConfigError(
                "AANLEVERING_PROVIDER_ID is not set: it is the name every delivery is made "
                "under (the hospital's id at the TTP, e.g. its AGB code). Set it; there is no "
                f"default outside the demo ({DEMO_MODE_ENV}=yes delivers as "
                f"{DEMO_PROVIDER_ID}). Nothing was read or recorded"
            )
        if configured == DEMO_PROVIDER_ID and not self.demo_mode:
            raise ConfigError(
                f"AANLEVERING_PROVIDER_ID is {DEMO_PROVIDER_ID}, the demo's id (the value "
                "deploy/compose.env.example ships): set the hospital's own id at the TTP, or "
                f"{DEMO_MODE_ENV}=yes when this install is a demo. Nothing was read or recorded"
            )
        return configured

    @property
    def staging_dir(self) -> Path:
        """Work files of runs in progress (may hold identifiers; kept short)."""
        return self.home / "staging"

    @property
    def reports_dir(self) -> Path:
        """Validation reports and data docs."""
        return self.home / "reports"

    @property
    def secrets_dir(self) -> Path:
        """Local secrets such as the patient-reference HMAC key (mode 0700)."""
        return self.home / "secrets"

    @property
    def airflow_home(self) -> Path:
        """AIRFLOW_HOME of the embedded default."""
        return self.home / "airflow"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment, with the embedded defaults.

    ``AANLEVERING_HOME``: data directory (default ``<checkout>/var``).
    ``AANLEVERING_CATALOGUE``: folder of registration configs and dictionaries.
    ``AANLEVERING_EVENT_STORE``: ``sqlite:///path`` or ``postgresql://...``.
    ``AANLEVERING_PROVIDER_TYPE``: hospital | umc | zbc (which variables apply).
    ``AANLEVERING_PROVIDER_ID``: this hospital's organisation id at the TTP;
    ``demo-hospital`` only in demo mode (``AANLEVERING_DEMO_MODE=yes``), otherwise
    required by whatever delivers (decision 0711).

    Every entry point reads its settings here, so this is also where the
    process is made private (umask 077, home 0700 when it is clearly its own;
    a file, `/` or an open folder of other files is a ConfigError): see
    :mod:`aanlevering.private_files`.
    """
    env = dict(os.environ) if env is None else env
    home = Path(env.get("AANLEVERING_HOME") or _default_home()).expanduser().resolve()
    catalogue = Path(env.get("AANLEVERING_CATALOGUE") or _default_catalogue()).expanduser()
    store = env.get("AANLEVERING_EVENT_STORE") or f"sqlite:///{home / 'events.sqlite3'}"
    make_process_private(home)
    return Settings(
        home=home,
        catalogue_dir=catalogue.resolve(),
        event_store_url=store,
        provider_type=env.get("AANLEVERING_PROVIDER_TYPE", "hospital"),
        configured_provider_id=_configured_provider_id(env),
        demo_mode=demo_mode(env),
    )


#: The demo's provider id, the default in demo mode only (decision 0711).
DEMO_PROVIDER_ID = "demo-hospital"


def _configured_provider_id(env: Mapping[str, str]) -> str | None:
    """``AANLEVERING_PROVIDER_ID`` checked, or None when unset.

    A value that is set (even empty) is checked at once: a wrong id is wrong
    for every command. Whether it may be missing, or the demo's, is decided on
    use (:attr:`Settings.provider_id`).
    """
    text = env.get("AANLEVERING_PROVIDER_ID")
    return None if text is None else _provider_id(text)


#: What a provider id may be: it starts every idempotency key
#: (``<provider>.<registration>.<period>.v<n>``, split at the dots by receivers), the SFTP
#: inbox path and the staging folders, so no dots, slashes, spaces or empty text.
PROVIDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _provider_id(text: str) -> str:
    """``AANLEVERING_PROVIDER_ID`` when it is one; a ConfigError naming the rule otherwise."""
    if not PROVIDER_ID.fullmatch(text):
        raise ConfigError(
            f"AANLEVERING_PROVIDER_ID must be 1-64 letters, digits, '-' or '_' (starting with a "
            f"letter or digit; e.g. the AGB code), not {text!r}: it is part of every delivery's "
            "key and of the paths at the registry holder"
        )
    return text


#: A ``${VAR}`` or ``${VAR:-default}`` reference in a config value.
ENV_REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


def expand_env(text: str, env: dict[str, str] | None = None) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in config values (endpoints).

    Unset variables without a default are a ConfigError naming the variable,
    so a production config never silently talks to the demo default.
    """
    env = dict(os.environ) if env is None else env

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value:
            return value
        if default is not None:
            return default
        raise ConfigError(f"environment variable {name} is not set (used in {text!r})")

    return ENV_REFERENCE.sub(replace, text)


def whole_number_setting(name: str, default: int, minimum: int) -> int:
    """The environment variable ``name`` as a whole number of at least ``minimum``.

    Why one rule: a tuning setting that is mistyped must stop the run with its
    name and the text given, not be read as its default.
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"{name} must be a whole number of at least {minimum}, not {text!r}")
    return value


def number_setting(
    name: str, default: float, minimum: float, env: Mapping[str, str] | None = None
) -> float:
    """The environment variable ``name`` as a number (fractions allowed) of at least ``minimum``.

    Why: like :func:`whole_number_setting`, for settings that may be fractions
    (seconds, days); a mistyped one (``30s``, ``-1``, ``nan``) stops the command
    naming the setting and the text, instead of an internal error or a value
    nobody meant.
    """
    env = os.environ if env is None else env
    text = env.get(name, "").strip()
    if not text:
        return default
    value = finite_number_at_least(text, minimum)
    if value is None:
        raise ConfigError(f"{name} must be a number of at least {minimum:g}, not {text!r}")
    return value


def finite_number_at_least(text: str, minimum: float) -> float | None:
    """``text`` as a finite number of at least ``minimum``; None when it is not one.

    The one rule for numbers a person types (settings and options alike):
    ``30s``, ``nan``, ``inf`` and values under the minimum are refused.
    """
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= minimum else None
