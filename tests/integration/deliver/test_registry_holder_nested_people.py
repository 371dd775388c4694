"""A person travels in a delivery as its pseudonymised Patient, and nowhere else.

The reference holder checked names, telecom and addresses on Patients read
as lines or entries only: a Patient with a name inside a Bundle that was
itself an entry, or contained in an Observation, or a RelatedPerson with
name and address of its own, was receipted by a holder that did not know
the registration's terms. The product delivers none of them (the minimiser
drops contained people and refuses person resources; its Bundles hold
resources, never Bundles). They are refused, naming file and line or entry
only (decision 1004). The holder is a real process.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.deliver.manifest import describe_files
from conftest import PATIENT, RESPONSE, stage  # module level: a later import may find another
from support.holder_requests import ndjson_lines, refusal_text, restaged
from support.holder_requests import send as _send
from support.registry_holder import RegistryHolder

#: A person's own data, as no delivered resource may hold it.
NAMED = {
    "id": "x-1",
    "name": [{"family": "Jansen", "given": ["Anna"]}],
    "address": [{"line": ["Dorpsstraat 1"], "postalCode": "1234AB"}],
}


def _person(person: str) -> dict[str, object]:
    """A valid R4B ``person`` resource holding :data:`NAMED` (the models refuse nothing)."""
    of_patient = {"patient": {"reference": "Patient/p-1"}} if person == "RelatedPerson" else {}
    return {"resourceType": person, **NAMED, **of_patient}


OBSERVATION = {
    "resourceType": "Observation",
    "id": "o-1",
    "status": "final",
    "code": {"text": "iss"},
    "subject": {"reference": "Patient/p-1"},
}


def _refusal(holder: RegistryHolder, folder: Path, texts: dict[str, str]) -> list[str]:
    manifest = restaged(folder, stage(folder, provider=holder.hospital), texts)
    problems: list[str] = json.loads(refusal_text(_send(holder, folder, manifest)))["problems"]
    assert holder.ledger() == []
    text = "\n".join(problems)
    assert "Jansen" not in text and "Anna" not in text and "Dorpsstraat" not in text
    return problems


@pytest.mark.parametrize("person", ["Patient", "RelatedPerson", "Practitioner"])
def test_a_person_contained_in_a_resource_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, person: str
) -> None:
    observation = {**OBSERVATION, "contained": [_person(person)]}
    problems = _refusal(
        hospital_holder,
        tmp_path / "d",
        {
            "Patient.ndjson": ndjson_lines(PATIENT),
            "QuestionnaireResponse.ndjson": ndjson_lines(RESPONSE),
            "Observation.ndjson": ndjson_lines(observation),
        },
    )
    assert problems == [
        "Observation.ndjson line 1: a contained resource about a person (people are "
        "delivered as the pseudonymised Patient only)"
    ]


@pytest.mark.parametrize("person", ["RelatedPerson", "Person", "Practitioner"])
def test_a_person_other_than_the_patient_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, person: str
) -> None:
    problems = _refusal(
        hospital_holder,
        tmp_path / "d",
        {
            "Patient.ndjson": ndjson_lines(PATIENT),
            "QuestionnaireResponse.ndjson": ndjson_lines(RESPONSE),
            f"{person}.ndjson": ndjson_lines(_person(person)),
        },
    )
    assert problems == [
        f"{person}.ndjson line 1: a resource about a person other than the Patient "
        "(people are delivered as the pseudonymised Patient only)"
    ]


def test_a_bundle_as_an_entry_of_a_bundle_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    for item in manifest.files:
        (folder / item.name).unlink()
    inner = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:x-1", "resource": {"resourceType": "Patient", **NAMED}}],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:p-1", "resource": PATIENT},
            {
                "fullUrl": "urn:uuid:q-1",
                "resource": {**RESPONSE, "subject": {"reference": "urn:uuid:p-1"}},
            },
            {"fullUrl": "urn:uuid:b-1", "resource": inner},
        ],
    }
    name = "Bundle-000001.json"
    (folder / name).write_text(json.dumps(bundle))
    files = describe_files(folder, {name: 3}, {name: "application/fhir+json"})
    manifest = replace(manifest, files=files, format="fhir-bundle")
    problems = json.loads(refusal_text(_send(hospital_holder, folder, manifest)))["problems"]
    assert problems == [
        "Bundle-000001.json entry 2: a Bundle inside a delivered file (a delivery's resources "
        "are its NDJSON lines and its Bundles' entries, never Bundles)"
    ]
    assert "Jansen" not in json.dumps(problems)


def test_a_bundle_as_an_ndjson_line_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    inner = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", **NAMED}}],
    }
    problems = _refusal(
        hospital_holder,
        tmp_path / "d",
        {
            "Patient.ndjson": ndjson_lines(PATIENT),
            "QuestionnaireResponse.ndjson": ndjson_lines(RESPONSE),
            "Bundle.ndjson": ndjson_lines(inner),
        },
    )
    assert problems == [
        "Bundle.ndjson line 1: a Bundle inside a delivered file (a delivery's resources "
        "are its NDJSON lines and its Bundles' entries, never Bundles)"
    ]


def test_contained_resources_that_are_no_people_are_receipted(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    """What the minimiser keeps contained (a Medication) is still taken."""
    medication = {"resourceType": "Medication", "id": "c1", "code": {"text": "paracetamol"}}
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms-1",
        "status": "active",
        "medicationReference": {"reference": "#c1"},
        "subject": {"reference": "Patient/p-1"},
        "contained": [medication],
    }
    folder = tmp_path / "d"
    manifest = restaged(
        folder,
        stage(folder, provider=hospital_holder.hospital),
        {
            "Patient.ndjson": ndjson_lines(PATIENT),
            "QuestionnaireResponse.ndjson": ndjson_lines(RESPONSE),
            "MedicationStatement.ndjson": ndjson_lines(statement),
        },
    )
    answer = _send(hospital_holder, folder, manifest)
    assert answer.status_code == 201, answer.text
