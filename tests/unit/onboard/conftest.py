"""Demo exports of the example registrations, generated once for the onboarding tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.demo import DemoOptions, generate_demo_data

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CSV (``csv-utf8``) and FHIR (``fhir-bulk/<id>``) samples of every example, clean."""
    out = tmp_path_factory.mktemp("onboard-demo") / "demo"
    options = DemoOptions(out_dir=out, patients=120, seed=19, bad_share=0.0)
    generate_demo_data(load_catalogue(CATALOGUE), options)
    return out
