"""Writing values at mapping paths: the inverse of the catalogue's FHIRPath subset."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from aanlevering.demo.fhirpaths import Resolver, compile_path, fhir_datetime, write
from aanlevering.errors import ConfigError


class Satellites(Resolver):
    def __init__(self) -> None:
        self.made: dict[str, dict[str, Any]] = {}

    def resolve(self, key: str, target_type: str) -> dict[str, Any]:
        return self.made.setdefault(
            key, {"resourceType": target_type, "id": f"focus-{key.lower()}"}
        )


def test_where_system_selects_or_adds_the_coding_and_maps_codes() -> None:
    resource: dict[str, Any] = {"resourceType": "Procedure", "id": "p1"}
    system = "https://aanlevering.example/fhir/CodeSystem/verrichting"
    path = compile_path(
        f"code.coding.where(system='{system}').code",
        "Procedure",
        inverse_map={"EVAR": "AAA-EVAR"},
        displays={"AAA-EVAR": "endovasculair"},
    )
    write(path, resource, "EVAR", Satellites())
    write(path, resource, "EVAR", Satellites())
    assert resource["code"] == {
        "coding": [{"system": system, "code": "AAA-EVAR", "display": "endovasculair"}]
    }


def test_extension_and_resolve_create_what_is_missing_once() -> None:
    resource: dict[str, Any] = {"resourceType": "Procedure", "id": "p1"}
    satellites = Satellites()
    url = "https://aanlevering.example/fhir/StructureDefinition/aneurysma-type"
    write(
        compile_path(f"reasonReference.resolve().extension('{url}').valueCode", "Procedure"),
        resource,
        "2",
        satellites,
    )
    write(
        compile_path("encounter.resolve().period.start", "Procedure"),
        resource,
        date(2026, 3, 2),
        satellites,
    )
    write(
        compile_path("encounter.resolve().period.end", "Procedure"),
        resource,
        date(2026, 3, 5),
        satellites,
    )
    assert resource["reasonReference"] == [{"reference": "Condition/focus-reasonreference"}]
    assert resource["encounter"] == {"reference": "Encounter/focus-encounter"}
    assert satellites.made["reasonReference"]["extension"] == [{"url": url, "valueCode": "2"}]
    assert satellites.made["encounter"]["period"] == {"start": "2026-03-02", "end": "2026-03-05"}


def test_resolve_id_writes_a_reference_to_the_related_dataset() -> None:
    resource: dict[str, Any] = {"resourceType": "Condition", "id": "c1"}
    url = "https://aanlevering.example/fhir/StructureDefinition/na-verrichting"
    path = compile_path(
        f"extension('{url}').valueReference.resolve().id",
        "Condition",
        reference_targets={"valueReference": "Procedure"},
    )
    write(path, resource, "OK-1", Satellites())
    assert resource["extension"] == [
        {"url": url, "valueReference": {"reference": "Procedure/OK-1"}}
    ]


def test_values_get_their_fhir_json_type() -> None:
    resource: dict[str, Any] = {"resourceType": "Observation", "id": "o1"}
    write(compile_path("valueInteger", "Observation"), resource, "3", Satellites())
    assert resource["valueInteger"] == 3
    other: dict[str, Any] = {"resourceType": "Observation", "id": "o2"}
    write(
        compile_path("valueQuantity.value", "Observation", unit="mm[Hg]"), other, 120, Satellites()
    )
    assert other["valueQuantity"] == {
        "value": 120,
        "unit": "mm[Hg]",
        "system": "http://unitsofmeasure.org",
        "code": "mm[Hg]",
    }
    patient: dict[str, Any] = {"resourceType": "Procedure", "id": "p"}
    write(
        compile_path("subject.resolve().gender", "Procedure", inverse_map={"V": "female"}),
        patient,
        "V",
        Satellites(),
    )
    assert patient["subject"] == {"reference": "Patient/focus-subject"}


def test_local_times_carry_the_dutch_offset() -> None:
    assert fhir_datetime(datetime(2026, 1, 15, 14, 35)) == "2026-01-15T14:35:00+01:00"
    assert fhir_datetime(datetime(2026, 7, 1, 9, 0)) == "2026-07-01T09:00:00+02:00"
    assert fhir_datetime(datetime(2026, 3, 29, 12, 0)) == "2026-03-29T12:00:00+02:00"
    assert fhir_datetime(datetime(2026, 10, 25, 12, 0)) == "2026-10-25T12:00:00+01:00"
    assert fhir_datetime(date(2026, 5, 4)) == "2026-05-04"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("code.coding.first().code", "unsupported function"),
        ("nonsense", "no element"),
        ("code", "not a primitive"),
        ("status.resolve().id", "primitive and has no children"),
        ("code.coding.where(code='x').code", "where\\(system="),
        ("identifier.resolve().id", "must follow a reference"),
    ],
)
def test_paths_the_generator_cannot_write_are_config_errors(path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        compile_path(path, "Procedure")
