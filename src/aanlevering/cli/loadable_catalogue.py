"""The catalogue's registrations that load, and the problems of the files that do not.

Why: runs and DAGs tolerate one broken registration file (decisions 0420, 0421); the
views over all registrations (``status``, ``events rebuild``) refused the whole
catalogue instead, so one engineer's typo hid every registration's calendar and
stopped the hourly rebuild. These commands show what loads, then name the broken
files on stderr and exit 2 (decision 0474), so the problem is neither hidden nor
allowed to hide the rest.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aanlevering.catalogue.loader import CatalogueInvalid, load_registrations
from aanlevering.catalogue.model import Catalogue


def load_loadable(root: Path) -> tuple[Catalogue, CatalogueInvalid | None]:
    """The registrations under ``root`` that load, and the problems of the rest (or None)."""
    registrations, problems = load_registrations(root)
    catalogue = Catalogue(registrations=registrations, root=str(root))
    return catalogue, (CatalogueInvalid(problems) if problems else None)


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
