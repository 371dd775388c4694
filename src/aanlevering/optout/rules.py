"""Opt-out rules: from when the regime applies, and how an opt-out meets a delivery period.

The national implementation is still open, so these are configuration, in
a YAML or JSON file (``$AANLEVERING_OPTOUT_RULES``, else
``<home>/optout-rules.yaml`` when it exists)::

    effective_from: 2027-01-01          # the regime does not apply in 2026
    registered_during_period: whole-period   # or: from-registration-date

``whole-period`` (default): an opt-out in force on the day of delivery removes
the patient from every period the regime applies to (a period ending after
``effective_from``), including an opt-out registered during or after that
period. ``from-registration-date``: only care on or after the later of the
registration date and ``effective_from`` is removed (needs care dates per
row; without them the patient is removed, the privacy-safe fallback). Why
the default: see docs/decisions/0092-optout-whole-period.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args

from aanlevering.errors import ConfigError
from aanlevering.events.store import EventStore
from aanlevering.obligation.rules import read_rules_mapping
from aanlevering.optout.events import OptOutsApplied
from aanlevering.settings import Settings

OptOutMode = Literal["whole-period", "from-registration-date"]
OPTOUT_MODES: tuple[str, ...] = get_args(OptOutMode)
ENV_RULES = "AANLEVERING_OPTOUT_RULES"
RULES_FILE = "optout-rules.yaml"
#: One year after the Wkz took effect (DOMAIN: the regime does not apply in 2026).
DEFAULT_EFFECTIVE_FROM = date(2027, 1, 1)


@dataclass(frozen=True)
class OptOutRules:
    """When opt-outs start to count, and whether they cover a whole period or later care only."""

    effective_from: date = DEFAULT_EFFECTIVE_FROM
    registered_during_period: OptOutMode = "whole-period"

    def describe(self) -> str:
        """Compact text recorded with every application, so an audit can see the rules used."""
        return (
            f"effective_from={self.effective_from.isoformat()};"
            f"registered_during_period={self.registered_during_period}"
        )


def parse_optout_rules(data: Mapping[str, Any], source: str = "opt-out rules") -> OptOutRules:
    """Typed rules from a mapping; ConfigError names the key that is wrong."""
    unknown = sorted(set(data) - {"effective_from", "registered_during_period"})
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}")
    effective = data.get("effective_from", DEFAULT_EFFECTIVE_FROM)
    if isinstance(effective, str):
        try:
            effective = date.fromisoformat(effective.strip())
        except ValueError:
            raise ConfigError(
                f"{source}: effective_from: expected a date like 2027-01-01"
            ) from None
    if not isinstance(effective, date):
        raise ConfigError(f"{source}: effective_from: expected a date like 2027-01-01")
    mode = data.get("registered_during_period", "whole-period")
    if mode not in OPTOUT_MODES:
        raise ConfigError(
            f"{source}: registered_during_period: expected one of {', '.join(OPTOUT_MODES)}"
        )
    return OptOutRules(effective_from=effective, registered_during_period=mode)


def load_optout_rules(settings: Settings, env: Mapping[str, str] | None = None) -> OptOutRules:
    """The rules file named by the environment or found in the home directory, else defaults."""
    env = os.environ if env is None else env
    named = env.get(ENV_RULES)
    path = Path(named) if named else settings.home / RULES_FILE
    if not named and not path.exists():
        return OptOutRules()
    return parse_optout_rules(read_rules_mapping(path, "opt-out rules"), str(path))


def load_checked_optout_rules(
    settings: Settings, store: EventStore, env: Mapping[str, str] | None = None
) -> OptOutRules:
    """:func:`load_optout_rules` for a run: defaults only if the log's last run used them too.

    Why (decision 0453): the rules file lives in the home, and a home wiped
    or restored from an older backup loses it in silence; the defaults may
    apply fewer opt-outs (a 2027 start where the hospital chose 2026), and
    patients who objected would be delivered. Every run records the rules it
    applied (``OptOutsApplied.rules``) in the log, which survives: when no
    file is there and the last run applied other rules, that is a
    ConfigError naming both. A file with the defaults written out is a
    deliberate choice and is followed.
    """
    env = os.environ if env is None else env
    rules = load_optout_rules(settings, env)
    path = settings.home / RULES_FILE
    if env.get(ENV_RULES) or path.exists():
        return rules
    last = store.last_of_type(OptOutsApplied.event_type)
    if last is None:
        return rules
    applied = last.to_event()
    if isinstance(applied, OptOutsApplied) and applied.rules != rules.describe():
        raise ConfigError(
            f"the opt-out rules file {path} is missing, but the last run applied "
            f"{applied.rules} (the defaults are {rules.describe()}); was the home restored "
            "or wiped? Restore the file, or write the rules to apply in it (also when they "
            f"are the defaults), or name it with {ENV_RULES}"
        )
    return rules
