"""The holder counts the records of a delivery whose records travel as resources (0595).

One record per focus resource of the dataset's mapped type matching its
``where`` codes, as the product's extract has one row per such resource; a
registration whose records travel as QuestionnaireResponses holds as many as
it claims, none included.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.catalogue.model import CodeFilter
from aanlevering.counterparts.registry_holder.checks import check_delivery
from aanlevering.counterparts.registry_holder.terms import RegistrationTerms
from aanlevering.deliver.manifest import Manifest, describe_files
from support.holder_manifests import ldtr_manifest

CATEGORY = "https://aanlevering.example/fhir/CodeSystem/conditie-categorie"
PATIENT = {
    "resourceType": "Patient",
    "id": "p-1",
    "identifier": [
        {
            "system": "https://aanlevering.example/fhir/NamingSystem/pseudonym/ldtr/NGG",
            "value": "NGG:v1:abc",
        }
    ],
    "birthDate": "1961",
}


def _terms(fhir_content: str) -> RegistrationTerms:
    return RegistrationTerms(
        pseudonym_types=frozenset({"NGG"}),
        dictionary_id="ltr",
        dictionary_version="2026.1",
        datasets={"tumor": ()},
        fhir_content=fhir_content,
        record_resources={"tumor": ("Condition", CodeFilter(CATEGORY, ("tumor",), "category"))},
    )


def _condition(number: int, category: str, **extra: object) -> dict[str, object]:
    return {
        "resourceType": "Condition",
        "id": f"c-{number}",
        "subject": {"reference": "Patient/p-1"},
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        **extra,
    }


def _delivery(folder: Path, claimed: int) -> Manifest:
    """Two tumours, a Condition of another category and one entered in error: 2 records."""
    folder.mkdir(exist_ok=True)
    conditions = [
        _condition(1, "tumor"),
        _condition(2, "tumor"),
        _condition(3, "comorbiditeit"),
        _condition(4, "tumor", verificationStatus={"coding": [{"code": "entered-in-error"}]}),
    ]
    (folder / "Patient.ndjson").write_text(json.dumps(PATIENT) + "\n")
    (folder / "Condition.ndjson").write_text("".join(json.dumps(c) + "\n" for c in conditions))
    files = describe_files(folder, {"Patient.ndjson": 1, "Condition.ndjson": 4}, {})
    return ldtr_manifest(files, format="fhir-ndjson", record_counts={"tumor": claimed})


@pytest.mark.parametrize("content", ["resources", "both"])
def test_focus_resources_matching_where_are_the_records(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "d"
    assert check_delivery(folder, _delivery(folder, 2), _terms(content)) == []
    for claimed in (1, 3):
        assert check_delivery(folder, _delivery(folder, claimed), _terms(content)) == [
            f"record_counts says {claimed} record(s) of dataset 'tumor', the files hold 2"
        ]


def test_a_questionnaire_registration_without_responses_holds_no_records(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "d"
    problems = check_delivery(folder, _delivery(folder, 2), _terms("questionnaire"))
    assert problems[-1] == "record_counts says 2 record(s) of dataset 'tumor', the files hold 0"
    # Its Conditions are no records, and no resource it delivers either (decision 0982).
    assert all(" does not deliver " in problem for problem in problems[:-1]), problems
    assert problems[:-1]


def test_without_the_terms_a_resources_delivery_cannot_be_counted(tmp_path: Path) -> None:
    """Which resources are records is in the registration's mapping only (documented limit)."""
    folder = tmp_path / "d"
    assert check_delivery(folder, _delivery(folder, 7)) == []
