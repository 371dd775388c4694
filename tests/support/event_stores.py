"""The event log on both backends: ``store_url`` and ``store`` run a test on SQLite and PostgreSQL.

Why shared: a test that involves the database must pass on both (the house
rule), and each module that wrote its own pair drifted (file names, scopes).
A module or conftest that defines its own ``store`` (seeded, one backend)
still wins, as pytest prefers the closer fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aanlevering.events import EventStore, open_event_store


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty event log: a SQLite file, or a throwaway schema on the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.sqlite3'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    """The log at ``store_url``, opened for the length of the test."""
    with open_event_store(store_url) as opened:
        yield opened
