"""A delivered Patient holds the pseudonymised Patient's elements only (a real holder process).

The holder refused a Patient's name, telecom and an address beyond PC4, but
receipted a full birth date, a contact holding a relative's name and phone, a
photo and an extension holding anything
(decision 1062). The refusal names the element, never a value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import PATIENT, RESPONSE, stage  # module level: another conftest may be found
from support.holder_sending import ndjson_texts, problems_with
from support.registry_holder import RegistryHolder

_HOLDS = "a delivered Patient holds id, meta, identifier, gender, birthDate, address only"
_SECRET = "Jansen-Verbeek"


def _refused(holder: RegistryHolder, tmp_path: Path, patient: dict[str, Any]) -> list[str]:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=holder.hospital)
    texts = ndjson_texts(Patient=(patient,), QuestionnaireResponse=(RESPONSE,))
    problems = problems_with(holder, folder, manifest, texts)
    assert holder.ledger() == []
    assert _SECRET not in json.dumps(problems) and "0612345678" not in json.dumps(problems)
    return problems


@pytest.mark.parametrize(
    ("element", "value"),
    [
        ("contact", [{"name": {"family": _SECRET}, "telecom": [{"value": "0612345678"}]}]),
        ("photo", [{"title": _SECRET}]),
        ("extension", [{"url": "https://example.org/x", "valueString": _SECRET}]),
        ("deceasedDateTime", "2026-02-03"),
    ],
)
def test_an_element_beyond_the_pseudonymised_patients_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, element: str, value: object
) -> None:
    problems = _refused(hospital_holder, tmp_path, {**PATIENT, element: value})
    assert problems == [
        f"Patient.ndjson line 1: Patient carries {element}: {_HOLDS} (the pseudonymised Patient)"
    ]


def test_a_key_no_patient_has_is_refused_unnamed(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    """A key is what the sender wrote: it may be a value, so it is not echoed."""
    problems = _refused(hospital_holder, tmp_path, {**PATIENT, _SECRET: True})
    # The R4B model would refuse it too, but the element check comes first and names nothing.
    assert problems == [
        f"Patient.ndjson line 1: Patient carries 1 other element(s): {_HOLDS} "
        "(the pseudonymised Patient)"
    ]


@pytest.mark.parametrize("birth", ["1961-04-12", "1961-04"])
def test_a_birth_date_beyond_its_year_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, birth: str
) -> None:
    problems = _refused(hospital_holder, tmp_path, {**PATIENT, "birthDate": birth})
    assert problems == [
        "Patient.ndjson line 1: Patient carries a birthDate beyond its year: must be "
        "generalised before delivery"
    ]
    assert birth not in json.dumps(problems)
