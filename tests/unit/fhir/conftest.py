"""Shared setup of the FHIR output tests: the example catalogue, contexts, a FHIR source."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import Catalogue, load_catalogue
from aanlevering.fhir.context import DeliveryContext
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym_types import PseudonymType

REPO = Path(__file__).resolve().parents[3]
SOURCE = Path(__file__).resolve().parent / "data" / "source-resources.json"
SALT = b"fhir-output-tests-salt-32-bytes!"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(REPO / "schemas" / "catalogue")


@pytest.fixture(scope="session")
def context_for(catalogue: Catalogue) -> Callable[[str], DeliveryContext]:
    def build(registration_id: str) -> DeliveryContext:
        return DeliveryContext.for_registration(catalogue.get(registration_id), SALT)

    return build


@pytest.fixture
def source() -> dict[str, Any]:
    """A fresh copy of the FHIR source (tests may mutate it)."""
    data: dict[str, Any] = json.loads(SOURCE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def make_pseudonyms() -> Callable[..., PatientPseudonyms]:
    return pseudonyms_for


def pseudonyms_for(
    patient_id: str,
    types: tuple[PseudonymType, ...],
    *,
    number: int = 1,
    key_version: int = 3,
    temporary: bool = True,
) -> PatientPseudonyms:
    """Made-up pseudonyms: values carry no part of the patient id."""
    return PatientPseudonyms(
        patient_id=patient_id,
        pseudonyms=tuple(
            Pseudonym(
                type=type_,
                value=f"ps{type_.value}x{number:06d}q7Zk",
                key_version=key_version,
                temporary=temporary and type_ is not PseudonymType.MRN,
                profile="nl-2026.1",
            )
            for type_ in types
        ),
    )
