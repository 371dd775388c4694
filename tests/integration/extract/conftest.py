"""The ``bulk_server`` fixture: a real bulk-export server process per test, with its options."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bulk_support import FIXTURES, BulkServer, start_server


@pytest.fixture
def bulk_server() -> Iterator[Callable[..., BulkServer]]:
    """Start ``bulk_server.py`` over a fixture folder with the given command-line options."""
    started: list[BulkServer] = []

    def start(*options: str, fixtures: Path = FIXTURES / "fhir-nl") -> BulkServer:
        server = start_server(["--fixtures", str(fixtures), *options])
        started.append(server)
        return server

    yield start
    for server in started:
        server.process.terminate()
        server.process.communicate(timeout=10)
