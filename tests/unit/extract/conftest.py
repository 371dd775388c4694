"""Shared setup of the extract tests: the example catalogue and its three registrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.catalogue import Catalogue, RegistrationConfig, load_catalogue

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "extract"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(REPO / "schemas" / "catalogue")


@pytest.fixture(scope="session")
def dsaa(catalogue: Catalogue) -> RegistrationConfig:
    return catalogue.get("dica-dsaa")


@pytest.fixture(scope="session")
def ldtr(catalogue: Catalogue) -> RegistrationConfig:
    return catalogue.get("ldtr")


@pytest.fixture(scope="session")
def nkr(catalogue: Catalogue) -> RegistrationConfig:
    return catalogue.get("nkr-borst")
