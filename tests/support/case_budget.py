"""How many generated cases a fuzz or property test runs: the CI budget, or more for deep runs.

``make test`` must stay well under 30 minutes on two cores (decision 0520), so
each generating test has a fixed CI count, chosen so that it still reaches every
error branch the larger count reaches (decision 0810). ``AANLEVERING_TEST_DEPTH=deep``
runs the larger count, for a look before a release or after a change to the
code under test. Any other value is refused, so a typo does not quietly run
the CI budget.
"""

from __future__ import annotations

import os

ENV = "AANLEVERING_TEST_DEPTH"


def deep() -> bool:
    """True when ``$AANLEVERING_TEST_DEPTH`` asks for the deep counts."""
    value = os.environ.get(ENV, "ci").strip().lower() or "ci"
    if value not in ("ci", "deep"):
        raise ValueError(f"{ENV} must be ci or deep, not {value!r}")
    return value == "deep"


def cases(ci: int, deep_count: int) -> int:
    """``ci`` cases in CI, ``deep_count`` in a deep run (fixed seeds either way)."""
    return deep_count if deep() else ci
