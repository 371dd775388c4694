"""Shared pytest setup: register the fixture plugins in tests/support.

``tests/`` is not a package, so pytest puts this directory on ``sys.path`` and
the plugins import as ``support.<name>``. Add new fixture modules to the tuple.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# The suite runs against the reference TTP and registry holder and as demo-hospital: it is
# the demo (decisions 0710, 0711). Set here, at import, so every subprocess (the CLI, the
# counterparties, Airflow) inherits it; the tests of production's refusals unset it.
os.environ.setdefault("AANLEVERING_DEMO_MODE", "yes")

pytest_plugins = (
    "support.postgres",
    "support.sshd",
    "support.registry_holder",
    "support.tls",
    "support.event_stores",
    "support.gc_freeze",
)


@pytest.fixture(autouse=True)
def _catalogue_choice_stays_in_its_test() -> Iterator[None]:
    """A test's ``--catalogue`` must not reach the tests after it.

    The CLI's ``--catalogue`` sets ``AANLEVERING_CATALOGUE`` for the rest of the
    process on purpose (a run reopens its registration per step); in one pytest
    process that made later in-process and subprocess CLI calls read a deleted
    temporary catalogue.
    """
    before = os.environ.get("AANLEVERING_CATALOGUE")
    yield
    if before is None:
        os.environ.pop("AANLEVERING_CATALOGUE", None)
    else:
        os.environ["AANLEVERING_CATALOGUE"] = before
