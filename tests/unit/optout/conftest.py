"""Fixtures for the opt-out tests: a keyed hasher, a SQLite event log, realistic EHR extracts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aanlevering.events import EventStore, open_event_store
from aanlevering.optout.sources import MrnHasher, mrn_hasher
from aanlevering.pseudonym.patient_ref import PatientRefHasher


@pytest.fixture
def hasher() -> PatientRefHasher:
    return PatientRefHasher(b"test-key-for-patient-refs-000001")


@pytest.fixture
def hash_mrn(hasher: PatientRefHasher) -> MrnHasher:
    return mrn_hasher(hasher)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as opened:
        yield opened
