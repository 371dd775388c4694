"""Yes-or-no settings read one way everywhere, a typo refused.

Why one function: ``AANLEVERING_DEMO_MODE`` and
``AANLEVERING_REQUIRE_CONNECTIONS`` each read "yes" and "no" in their own
words, and a switch read as "no" on a typo (``ture``) silently undoes what it
guards (decisions 0671, 0710), so both refuse anything else, in one wording.
"""

from __future__ import annotations

from aanlevering.errors import ConfigError

YES = frozenset({"1", "true", "yes", "on"})
NO = frozenset({"", "0", "false", "no", "off"})


def yes_or_no(setting: str, text: str) -> bool:
    """``text`` of ``setting`` as a bool (empty is no); ConfigError naming it otherwise."""
    wanted = text.strip().lower()
    if wanted in YES:
        return True
    if wanted in NO:
        return False
    raise ConfigError(f"{setting} must be yes or no (1/0, true/false, on/off), not {text!r}")
