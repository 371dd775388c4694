"""Calendar rules: how long after a period closes its delivery may wait, and the yearly limit.

The law only says "at least once a year"; the grace per period is this
hospital's own policy, so it is configuration. Defaults (see
``docs/obligation.md``): one month after a month or quarter closes, three
months after a year closes; flag a registration with an obligation and no
receipted delivery for more than 365 days. A YAML or JSON file overrides them::

    grace_months: {month: 1, quarter: 1, year: 3}
    max_days_without_delivery: 365

The file is ``$AANLEVERING_OBLIGATION_RULES``, else ``<home>/obligation-rules.yaml``
when it exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aanlevering import yaml_input
from aanlevering.errors import ConfigError
from aanlevering.periods import Frequency
from aanlevering.settings import Settings

ENV_RULES = "AANLEVERING_OBLIGATION_RULES"
RULES_FILE = "obligation-rules.yaml"
DEFAULT_GRACE_MONTHS: Mapping[Frequency, int] = {"month": 1, "quarter": 1, "year": 3}


@dataclass(frozen=True)
class CalendarRules:
    """Grace per frequency (whole months after the period closes) and the yearly limit."""

    grace_months: Mapping[Frequency, int] = field(
        default_factory=lambda: dict(DEFAULT_GRACE_MONTHS)
    )
    max_days_without_delivery: int = 365

    def grace_for(self, frequency: Frequency) -> int:
        """Months of grace for periods of ``frequency``."""
        return self.grace_months.get(frequency, DEFAULT_GRACE_MONTHS[frequency])


def read_rules_mapping(path: Path, what: str) -> Mapping[str, Any]:
    """Read a small YAML or JSON rules file as a mapping; ConfigError names the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{what} {path}: cannot read: {error.strerror}") from error
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml_input.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise ConfigError(f"{what} {path}: not valid YAML/JSON ({type(error).__name__})") from error
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what} {path}: expected a mapping of settings at the top level")
    return data


def parse_calendar_rules(data: Mapping[str, Any], source: str = "calendar rules") -> CalendarRules:
    """Typed rules from a mapping; ConfigError names the key that is wrong."""
    unknown = sorted(set(data) - {"grace_months", "max_days_without_delivery"})
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}")
    grace: dict[Frequency, int] = dict(DEFAULT_GRACE_MONTHS)
    raw_grace = data.get("grace_months", {})
    if not isinstance(raw_grace, Mapping):
        raise ConfigError(f"{source}: grace_months: expected a mapping like {{month: 1}}")
    for key, value in raw_grace.items():
        if key not in DEFAULT_GRACE_MONTHS:
            raise ConfigError(f"{source}: grace_months.{key}: expected month, quarter or year")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 24:
            raise ConfigError(f"{source}: grace_months.{key}: expected whole months from 0 to 24")
        grace[key] = value
    limit = data.get("max_days_without_delivery", 365)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 3660:
        raise ConfigError(f"{source}: max_days_without_delivery: expected whole days, 1 to 3660")
    return CalendarRules(grace_months=grace, max_days_without_delivery=limit)


def load_calendar_rules(settings: Settings, env: Mapping[str, str] | None = None) -> CalendarRules:
    """The rules file named by the environment or found in the home directory, else defaults."""
    env = os.environ if env is None else env
    named = env.get(ENV_RULES)
    path = Path(named) if named else settings.home / RULES_FILE
    if not named and not path.exists():
        return CalendarRules()
    return parse_calendar_rules(read_rules_mapping(path, "calendar rules"), str(path))
