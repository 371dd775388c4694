"""Config audit (decision 0355): FHIR paths that read a person's identity the guard did not see.

Each path below is one the extract's FHIRPath subset evaluates to the
identity of the patient (or of a person who may be the patient): a leading
``Patient`` type, a choice prefix (``birth`` reads ``birthDate``), the
primitive's extensions (``_birthDate``), ``first()``/``where()`` between the
reference and what is read, references that may point at a person
(``performer``, ``link.other``), contained resources and identity extensions.
The catalogue loaded them all, and the first ones delivered given names,
street addresses and cities in the clear (the output guard searches
BSNs, MRNs, own and partner names and postcodes only).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.identity_guard import fhir_identity_reason
from aanlevering.catalogue.loader import CatalogueInvalid
from aanlevering.extract.fhirpath import compile_path, first_value

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
_SD = "http://hl7.org/fhir/StructureDefinition/"

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [{"family": "Vries", "given": ["Johanna"]}],
    "telecom": [{"system": "phone", "value": "+31612345678"}],
    "address": [{"line": ["Kalverstraat 92"], "city": "Amsterdam", "postalCode": "1012 NX"}],
    "birthDate": "1950-03-14",
    "_birthDate": {
        "extension": [{"url": _SD + "patient-birthTime", "valueDateTime": "1950-03-14T08:15"}]
    },
    "extension": [{"url": _SD + "patient-mothersMaidenName", "valueString": "Bakker"}],
    "link": [{"other": {"reference": "Patient/p2", "display": "J. de Vries"}, "type": "seealso"}],
}
OTHER_RECORD: dict[str, Any] = {**PATIENT, "id": "p2", "link": []}
ENCOUNTER: dict[str, Any] = {
    "resourceType": "Encounter",
    "id": "e1",
    "subject": {"reference": "Patient/p1", "display": "J. de Vries"},
    "participant": [{"individual": {"reference": "Patient/p1", "display": "J. de Vries"}}],
    "contained": [{**PATIENT, "id": "c1"}],
}
RESOURCES = {"Patient/p1": PATIENT, "Patient/p2": OTHER_RECORD}
IDENTITY = {"Vries", "Johanna", "+31612345678", "Kalverstraat 92", "Amsterdam", "1950-03-14"}
IDENTITY |= {"1950-03-14T08:15", "Bakker", "J. de Vries"}

#: Each reads identity on an Encounter, and the catalogue loaded it.
BYPASSES = (
    "Patient.name.given",
    "Patient.address.line",
    "Patient.address.city",
    "Patient.telecom.value",
    "Patient.birthDate",
    "subject.resolve().birth",
    f"subject.resolve()._birthDate.extension('{_SD}patient-birthTime').valueDateTime",
    f"Patient.extension('{_SD}patient-mothersMaidenName').valueString",
    "subject.first().resolve().name.family",
    "subject.where(reference='Patient/p1').resolve().address.city",
    "subject.first().display",
    "subject.resolve().link.other.display",
    "subject.resolve().link.other.resolve().name.given",
    "participant.individual.resolve().address.line",
    "participant.individual.display",
    "contained.where(resourceType='Patient').name.family",
    "contained.address.line",
)


@pytest.mark.parametrize("element", BYPASSES)
def test_the_path_reads_identity_and_the_guard_names_why(element: str) -> None:
    value = first_value(compile_path(element), ENCOUNTER, RESOURCES.get)
    assert value in IDENTITY, value  # what the extract would deliver
    assert fhir_identity_reason("Encounter", element) is not None


@pytest.mark.parametrize("element", BYPASSES)
def test_the_catalogue_refuses_the_path(tmp_path: Path, element: str) -> None:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    file = catalogue / "registrations" / "ldtr.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data["source"]["fhir"]["datasets"]["trauma"]["variables"]["mechanisme"] = element
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(catalogue)
    (problem,) = caught.value.problems
    assert problem.path == "$.source.fhir.datasets.trauma.variables.mechanisme"
    assert problem.message.startswith(
        f"registration ldtr, dataset trauma, variable mechanisme: source {element!r} on "
        "Encounter is patient identity: it reads "
    )
    for value in IDENTITY:
        assert value not in problem.message


@pytest.mark.parametrize(
    ("focus", "element"),
    [
        ("Observation", "performer.resolve().name.family"),
        ("Observation", "performer.display"),
        ("Procedure", "performer.actor.resolve().telecom.value"),
        ("Condition", "asserter.resolve().address.line"),
        ("RelatedPerson", "name.family"),
        ("Practitioner", "telecom.value"),
    ],
)
def test_references_that_may_be_the_patient_are_read_like_the_patient(
    focus: str, element: str
) -> None:
    assert fhir_identity_reason(focus, element) is not None


@pytest.mark.parametrize(
    ("focus", "element"),
    [
        ("Encounter", "Patient.gender"),
        ("Observation", "Patient.deceasedDateTime"),
        ("Observation", "Encounter.period.start"),
        ("Encounter", "Encounter.period.start"),
        ("Observation", "code.coding.where(system='http://loinc.org').display"),
        ("Observation", "valueCodeableConcept.coding.display"),
        ("Observation", "performer.resolve().id"),
        ("Observation", "contained.where(resourceType='Medication').code.text"),
        ("Procedure", "encounter.resolve().period.start"),
        ("Encounter", "subject.resolve().deceasedDateTime"),
        ("Encounter", "subject.resolve().extension('https://x.example/sd/roker').valueCode"),
    ],
)
def test_clinical_paths_still_pass(focus: str, element: str) -> None:
    assert fhir_identity_reason(focus, element) is None


def test_the_example_registrations_still_load() -> None:
    assert len(load_catalogue(CATALOGUE)) == 3
