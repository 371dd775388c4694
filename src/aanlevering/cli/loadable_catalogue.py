"""How the views over all registrations report the registration files that do not load.

Why: runs and DAGs tolerate one broken registration file (decisions 0420, 0421); the
views over all registrations (``status``, ``events rebuild``) refused the whole
catalogue instead, so one engineer's typo hid every registration's calendar and
stopped the hourly rebuild. These commands show what loads, then name the broken
files on stderr and exit 2 (decision 0474), so the problem is neither hidden nor
allowed to hide the rest.
"""

from __future__ import annotations

import sys

from aanlevering.catalogue.loader import CatalogueInvalid
from aanlevering.catalogue.loader import load_loadable_catalogue as load_loadable

__all__ = ["load_loadable", "report_broken"]


def report_broken(broken: CatalogueInvalid | None) -> int:
    """0 when nothing is broken; else the problems on stderr and the exit code 2."""
    if broken is None:
        return 0
    print(f"error: {broken}", file=sys.stderr)
    print(
        "(shown: the registrations that load; run `aanlevering registrations check`)",
        file=sys.stderr,
    )
    return broken.exit_code
