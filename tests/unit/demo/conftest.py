"""Fixtures for the demo-data tests: the example catalogue and one generated demo folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.catalogue import Catalogue, load_catalogue
from aanlevering.demo import DemoOptions, generate_demo_data

REPO = Path(__file__).resolve().parents[3]
#: Enough patients that every kind of bad row must be present.
PATIENTS = 400
SEED = 2026


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(REPO / "schemas" / "catalogue")


@pytest.fixture(scope="session")
def demo_dir(catalogue: Catalogue, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full demo run (all registrations, CSV and FHIR) shared by the read-only tests."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    generate_demo_data(catalogue, DemoOptions(out_dir=out, patients=PATIENTS, seed=SEED))
    return out
