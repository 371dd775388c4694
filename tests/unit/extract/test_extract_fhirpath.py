"""The FHIRPath subset: every construct the example registrations use, and clear refusals."""

from __future__ import annotations

from typing import Any

import pytest

from aanlevering.extract.fhirpath import PathSyntaxError, compile_path, evaluate, first_value

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-03-02"}
ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "e1",
    "period": {"start": "2026-02-01T10:00:00+01:00"},
}
PROCEDURE: dict[str, Any] = {
    "resourceType": "Procedure",
    "id": "proc-1",
    "subject": {"reference": "Patient/p1"},
    "encounter": {"reference": "Encounter/e1"},
    "performedDateTime": "2026-02-03",
    "code": {"coding": [
        {"system": "http://snomed.info/sct", "code": "123"},
        {"system": "https://x/verrichting", "code": "AAA-EVAR"},
        {"system": "https://x/verrichting", "code": "AAA-OPEN"},
    ]},
    "extension": [
        {"url": "https://x/urgentie", "valueCode": "1"},
        {"url": "https://x/na", "valueReference": {"reference": "Encounter/e1"}},
    ],
    "bodySite": [
        {"coding": [{"system": "s", "code": "C50.4"}],
         "extension": [{"url": "https://x/lat", "valueCode": "L"}]},
    ],
}  # fmt: skip
RESOURCES = {"Patient/p1": PATIENT, "Encounter/e1": ENCOUNTER}


def _value(path: str, resource: dict[str, Any] = PROCEDURE) -> Any:
    return first_value(compile_path(path), resource, RESOURCES.get)


def test_dotted_paths_and_ids() -> None:
    assert _value("performedDateTime") == "2026-02-03"
    assert _value("id") == "proc-1"
    assert _value("missing.element") is None


def test_arrays_flatten_and_the_first_value_wins() -> None:
    assert evaluate(compile_path("code.coding.code"), PROCEDURE, RESOURCES.get) == [
        "123",
        "AAA-EVAR",
        "AAA-OPEN",
    ]
    assert _value("code.coding.where(system='https://x/verrichting').code") == "AAA-EVAR"
    assert _value("code.coding.where(system='https://nope').code") is None


def test_choice_elements_match_their_typed_names() -> None:
    assert _value("performed") == "2026-02-03"
    observation = {"resourceType": "Observation", "valueQuantity": {"value": 55}}
    assert _value("value.value", observation) == 55
    assert _value("valueQuantity.value", observation) == 55


def test_extensions_on_the_resource_and_on_complex_elements() -> None:
    assert _value("extension('https://x/urgentie').valueCode") == "1"
    assert _value("bodySite.extension('https://x/lat').valueCode") == "L"
    assert _value("extension.where(url='https://x/urgentie').value") == "1"


def test_resolve_follows_references_including_from_extensions() -> None:
    assert _value("subject.resolve().gender") == "female"
    assert _value("extension('https://x/na').valueReference.resolve().id") == "e1"
    assert _value("encounter.resolve().period.start") == "2026-02-01T10:00:00+01:00"
    dangling = {**PROCEDURE, "subject": {"reference": "Patient/unknown"}}
    assert _value("subject.resolve().gender", dangling) is None


def test_a_leading_type_reads_the_focus_or_its_patient_or_encounter() -> None:
    assert _value("Procedure.performedDateTime") == "2026-02-03"
    assert _value("Patient.birthDate") == "1950-03-02"
    assert _value("Encounter.period.start") == "2026-02-01T10:00:00+01:00"
    assert compile_path("Patient.birthDate").reads_patient
    assert compile_path("subject.resolve().gender").reads_patient
    assert not compile_path("performedDateTime").reads_patient


def test_first() -> None:
    assert evaluate(compile_path("code.coding.first().code"), PROCEDURE, RESOURCES.get) == ["123"]


@pytest.mark.parametrize(
    "path",
    ["code.coding[0].code", "value > 3", "code.coding.where(system='a' or system='b')", "a..b",
     "extension(url)", "code.coding.exists()", "where(system='x'", ""],
)  # fmt: skip
def test_syntax_outside_the_subset_is_refused(path: str) -> None:
    with pytest.raises(PathSyntaxError):
        compile_path(path)
