"""Shared pytest setup: register the fixture plugins in tests/support.

``tests/`` is not a package, so pytest puts this directory on ``sys.path`` and
the plugins import as ``support.<name>``. Add new fixture modules to the tuple.
"""

from __future__ import annotations

pytest_plugins = (
    "support.postgres",
    "support.sshd",
    "support.registry_holder",
    "support.tls",
    "support.event_stores",
)
