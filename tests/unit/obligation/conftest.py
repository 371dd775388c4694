"""Fixtures for the register and calendar tests: real catalogue configs, a SQLite event log."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import Catalogue, RegistrationConfig, load_catalogue
from aanlevering.events import EventStore, open_event_store
from aanlevering.settings import checkout_root

ConfigFactory = Callable[..., RegistrationConfig]


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    root = checkout_root()
    assert root is not None
    return load_catalogue(str(root / "schemas" / "catalogue"))


@pytest.fixture
def make_config(catalogue: Catalogue) -> ConfigFactory:
    """A real registration config with some fields changed (frequency, start, before_inclusion)."""

    def build(registration: str = "nkr-borst", **changes: Any) -> RegistrationConfig:
        return dataclasses.replace(catalogue.get(registration), **changes)

    return build


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as opened:
        yield opened
