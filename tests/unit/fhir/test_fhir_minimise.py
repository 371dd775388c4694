"""Minimised source resources: clinical content kept, identifying parts and free text gone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aanlevering.errors import OutputError
from aanlevering.fhir import minimise
from aanlevering.fhir.ids import ResourceIds
from aanlevering.fhir.minimise import ReferenceMap, _key, minimise_resource
from aanlevering.fhir.validate import validate_resource

PATIENT_1 = "11111111-1111-4111-8111-111111111111"
PATIENT_2 = "22222222-2222-4222-8222-222222222222"
SALT = b"minimise-tests-salt-of-32-bytes!"


def _references(source: dict[str, Any]) -> ReferenceMap:
    references = ReferenceMap(ResourceIds(SALT))
    references.add_patient(["Patient/pat-MRN0012345"], PATIENT_1)
    references.add_patient(["Patient/pat-MRN0067890"], PATIENT_2)
    for resource in source["resources"]:
        key = f"{resource['resourceType']}/{resource['id']}"
        references.add(resource, source["full_urls"].get(key))
    return references


def _minimised(source: dict[str, Any], resource_id: str, style: Any = "relative") -> dict[str, Any]:
    references = _references(source)
    (resource,) = [r for r in source["resources"] if r["id"] == resource_id]
    result = minimise_resource(resource, references, style)
    validate_resource(result, f"minimised {resource_id}")
    return result


def _all_values(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for item in value.values() for v in _all_values(item)]
    if isinstance(value, list):
        return [v for item in value for v in _all_values(item)]
    return [str(value)]


def _no_identifiers(resource: dict[str, Any], source: dict[str, Any]) -> None:
    text = json.dumps(resource, ensure_ascii=False)
    for group in source["identifiers"].values():
        for value in group:
            assert value not in text, value


def test_encounter_keeps_clinical_content_and_loses_visit_numbers_and_names(
    source: dict[str, Any],
) -> None:
    encounter = _minimised(source, "enc-MRN0012345-1")

    assert {"text", "identifier"}.isdisjoint(encounter)
    assert "preAdmissionIdentifier" not in encounter["hospitalization"]
    assert encounter["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "HUIS"
    assert encounter["period"] == {
        "start": "2026-03-01T14:30:00+01:00",
        "end": "2026-03-10T10:00:00+01:00",
    }
    assert encounter["subject"] == {"reference": f"Patient/{PATIENT_1}"}
    assert encounter["participant"] == [{"individual": {"reference": "Practitioner/prac-1"}}]
    assert encounter["serviceProvider"] == {"reference": "Organization/zkh-1"}
    assert "text" not in encounter["type"][0]  # coded: the free text goes
    urls = [e["url"] for e in encounter["extension"]]
    assert urls == [
        "https://aanlevering.example/fhir/StructureDefinition/ongevalsdatum",
        "https://aanlevering.example/fhir/StructureDefinition/ongevalsmechanisme",
    ]  # string and HumanName extensions dropped
    assert encounter["meta"] == {
        "security": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                "code": "PSEUDED",
            }
        ]
    }
    assert encounter["id"] != "enc-MRN0012345-1"
    _no_identifiers(encounter, source)


def test_procedure_references_are_re_pointed_and_displays_dropped(source: dict[str, Any]) -> None:
    references = _references(source)
    procedure = _minimised(source, "proc-MRN0012345-1")

    assert procedure["subject"] == {"reference": f"Patient/{PATIENT_1}"}
    encounter_id = references.delivered_id("Encounter", "enc-MRN0012345-1")
    condition_id = references.delivered_id("Condition", "cond-1")
    assert procedure["encounter"] == {"reference": f"Encounter/{encounter_id}"}
    assert procedure["reasonReference"] == [{"reference": f"Condition/{condition_id}"}]
    assert procedure["performer"] == [{"actor": {"reference": "Practitioner/prac-1"}}]
    assert {"note", "identifier"}.isdisjoint(procedure)
    assert procedure["code"]["coding"][0]["display"] == "EVAR"  # terminology display stays
    _no_identifiers(procedure, source)


def test_condition_drops_contained_patient_and_keeps_contained_findings(
    source: dict[str, Any],
) -> None:
    references = _references(source)
    condition = _minimised(source, "cond-1")

    (contained,) = condition["contained"]
    assert contained["resourceType"] == "Observation"
    assert contained["id"] == "c1"
    assert condition["evidence"] == [{"detail": [{"reference": "#c1"}]}]
    # absolute, versioned reference to the source Patient is re-pointed too
    assert condition["subject"] == {"reference": f"Patient/{PATIENT_1}"}
    # a reference by urn:uuid (source Bundle fullUrl) resolves to the delivered Procedure
    procedure_id = references.delivered_id("Procedure", "proc-MRN0012345-1")
    (after,) = condition["extension"]
    assert after["valueReference"] == {"reference": f"Procedure/{procedure_id}"}
    assert "asserter" not in condition  # RelatedPerson references are dropped
    assert "text" not in condition["code"]
    assert "note" not in condition
    _no_identifiers(condition, source)


def test_observation_loses_free_text_values_and_notes(source: dict[str, Any]) -> None:
    observation = _minimised(source, "obs-1")

    assert observation["valueQuantity"]["value"] == 88
    heart_rate, free_text = observation["component"]
    assert heart_rate["valueQuantity"]["value"] == 72
    assert free_text == {"code": {"coding": [{"system": "http://loinc.org", "code": "8251-1"}]}}
    assert {"note", "identifier"}.isdisjoint(observation)
    assert observation["performer"] == [{"reference": "Practitioner/prac-1"}]
    _no_identifiers(observation, source)


def test_reference_to_an_undelivered_encounter_gets_a_keyed_id(source: dict[str, Any]) -> None:
    observation = _minimised(source, "obs-2")
    reference = observation["encounter"]["reference"]
    assert reference.startswith("Encounter/")
    assert "MRN0067890" not in reference
    assert reference == _minimised(source, "obs-2")["encounter"]["reference"]  # consistent
    assert observation["subject"] == {"reference": f"Patient/{PATIENT_2}"}


def test_consent_keeps_the_decision_and_loses_the_signed_form(source: dict[str, Any]) -> None:
    consent = _minimised(source, "consent-1")

    assert consent["patient"] == {"reference": f"Patient/{PATIENT_1}"}
    assert consent["performer"] == [{"reference": f"Patient/{PATIENT_1}"}]
    assert {"sourceAttachment", "text"}.isdisjoint(consent)
    assert consent["policyRule"]["coding"][0]["code"] == "OPTIN"
    assert consent["provision"]["actor"][0]["reference"] == {"reference": "Organization/dica"}
    _no_identifiers(consent, source)


def test_bundle_style_writes_urn_uuid_references_to_delivered_resources(
    source: dict[str, Any],
) -> None:
    references = _references(source)
    procedure = _minimised(source, "proc-MRN0012345-1", "urn")
    encounter_id = references.delivered_id("Encounter", "enc-MRN0012345-1")
    assert procedure["subject"] == {"reference": f"urn:uuid:{PATIENT_1}"}
    assert procedure["encounter"] == {"reference": f"urn:uuid:{encounter_id}"}
    assert procedure["performer"] == [{"actor": {"reference": "Practitioner/prac-1"}}]


def test_no_source_id_survives_anywhere(source: dict[str, Any]) -> None:
    references = _references(source)
    delivered = [minimise_resource(r, references) for r in source["resources"]]
    values = set(_all_values(delivered))
    for resource in source["resources"]:
        assert resource["id"] not in values
        assert f"{resource['resourceType']}/{resource['id']}" not in values


def test_a_reference_to_a_patient_outside_the_delivery_is_an_error(source: dict[str, Any]) -> None:
    references = _references(source)
    (observation,) = [r for r in source["resources"] if r["id"] == "obs-2"]
    observation["subject"] = {"reference": "Patient/pat-MRN0099999"}
    with pytest.raises(
        OutputError, match="references a Patient that is not in this delivery"
    ) as err:
        minimise_resource(observation, references)
    assert "MRN0099999" not in str(err.value)


@pytest.mark.parametrize(
    ("contained", "message"),
    [
        (5, "contained must be a list of resources"),
        ("Observation", "contained must be a list of resources"),
        ([{"id": "loose"}], r"contained\[0\] is not a resource"),
        ([{"resourceType": "Observation", "id": "o"}, "x"], r"contained\[1\] is not a resource"),
    ],
)
def test_a_malformed_contained_is_an_output_error_naming_the_position(
    source: dict[str, Any], contained: Any, message: str
) -> None:
    references = _references(source)
    (observation,) = [r for r in source["resources"] if r["id"] == "obs-2"]
    observation["contained"] = contained
    with pytest.raises(OutputError, match=message) as err:
        minimise_resource(observation, references)
    assert str(err.value).startswith("Observation ")
    assert "obs-2" not in str(err.value)


@pytest.mark.parametrize("resource_type", ["Patient", "RelatedPerson", "Practitioner", "Person"])
def test_person_resources_are_refused(source: dict[str, Any], resource_type: str) -> None:
    references = _references(source)
    with pytest.raises(OutputError, match="not minimised"):
        minimise_resource({"resourceType": resource_type, "id": "x"}, references)


def test_a_source_resource_without_id_cannot_be_registered() -> None:
    references = ReferenceMap(ResourceIds(SALT))
    with pytest.raises(OutputError, match="without an id"):
        references.add({"resourceType": "Observation"})


class _DictReferenceMap:
    """The straightforward version: every registered reference -> (type, delivered id)."""

    def __init__(self, ids: ResourceIds) -> None:
        self.ids = ids
        self.targets: dict[str, tuple[str, str]] = {}

    def add_patient(self, references: list[str], delivered_id: str) -> None:
        for reference in references:
            self.targets[reference] = ("Patient", delivered_id)
            self.targets[_key(reference)] = ("Patient", delivered_id)

    def add(self, resource: dict[str, Any], full_url: str | None = None) -> str:
        delivered = self.ids.make(resource["resourceType"], resource["id"])
        self.targets[f"{resource['resourceType']}/{resource['id']}"] = (
            resource["resourceType"],
            delivered,
        )
        if full_url:
            self.targets[full_url] = (resource["resourceType"], delivered)
        return delivered

    def resolve(self, reference: str) -> tuple[str, str] | None:
        return self.targets.get(reference) or self.targets.get(_key(reference))


def test_reference_map_holding_keys_resolves_as_a_dict_of_every_target() -> None:
    """ReferenceMap keeps keys and makes ids on demand; same answers as the full dict."""
    ids = ResourceIds(SALT)
    compact, plain = ReferenceMap(ids, closed=True), _DictReferenceMap(ids)
    for references in (["Patient/p1", "urn:uuid:aaaa"], ["Patient/p2"]):
        for target in (compact, plain):
            target.add_patient(references, f"pseudo-{references[0][-1]}")
    resources = [
        ({"resourceType": "Observation", "id": "o1"}, None),
        ({"resourceType": "Observation", "id": "o.2-x"}, "urn:uuid:bbbb"),
        ({"resourceType": "Encounter", "id": "e1"}, "https://ehr.example/fhir/Encounter/e1"),
        ({"resourceType": "Condition", "id": "c1"}, None),
    ]
    for resource, full_url in resources:
        assert compact.add(resource, full_url) == plain.add(resource, full_url)
    asked = [
        "Observation/o1",
        "Observation/o.2-x",
        "https://ehr.example/fhir/Observation/o1",
        "https://ehr.example/fhir/Observation/o1/_history/3",
        "urn:uuid:bbbb",
        "urn:uuid:aaaa",
        "urn:uuid:cccc",
        "Encounter/e1",
        "https://ehr.example/fhir/Encounter/e1",
        "Patient/p1",
        "https://other.example/Patient/p2",
        "Patient/p3",
        "Observation/o3",
        "Condition/c1?x=1",
        "Practitioner/d1",
        "",
    ]
    for reference in asked:
        assert compact.resolve(reference) == plain.resolve(reference), reference
    assert compact.delivered_id("Observation", "o1") == ids.make("Observation", "o1")
    assert compact.delivered_id("Observation", "o3") is None
    assert compact.delivered_id("Patient", "p1") == "pseudo-1"


def test_remembered_element_verdicts_give_what_deciding_each_time_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Names dropped or kept are remembered per name; the same output with nothing remembered."""
    resource = {
        "resourceType": "Observation",
        "id": "o1",
        "text": {"div": "<div>narrative</div>"},
        "identifier": [{"value": "visit-1"}],
        "_status": {"extension": []},
        "status": "final",
        "code": {"text": "repeats", "coding": [{"system": "s", "code": "c", "_code": {}}]},
        "valueQuantity": {"value": 0, "unit": "mm", "comparator": "<"},
        "interpretation": [{"text": "free text only"}],
        "component": [{"code": {"text": "t"}, "valueBoolean": False, "note": [{"text": "n"}]}],
        "subject": {"reference": "Patient/p1", "display": "Name"},
        "performer": [{"display": "Dr. Name", "identifier": {"value": "x"}}],
        "extension": [{"url": "u", "valueInteger": 3}],
    }
    references = ReferenceMap(ResourceIds(SALT), closed=True)
    references.add_patient(["Patient/p1"], "pp1")
    references.add(resource)
    monkeypatch.setattr(minimise, "_DROPPED_AT_TOP", {})
    monkeypatch.setattr(minimise, "_DROPPED_BELOW", {})
    remembered = [minimise_resource(resource, references) for _ in range(2)]
    monkeypatch.setattr(minimise, "_MAX_NAMES", 0)
    monkeypatch.setattr(minimise, "_DROPPED_AT_TOP", {})
    monkeypatch.setattr(minimise, "_DROPPED_BELOW", {})
    decided = minimise_resource(resource, references)
    assert remembered[0] == remembered[1] == decided
    assert minimise._DROPPED_AT_TOP == {} and minimise._DROPPED_BELOW == {}
    assert "text" not in decided and "identifier" not in decided and "_status" not in decided
    assert decided["code"] == {"coding": [{"system": "s", "code": "c"}]}
    assert decided["interpretation"] == [{"text": "free text only"}]
    assert decided["component"] == [{"code": {"text": "t"}, "valueBoolean": False}]
    assert decided["valueQuantity"] == {"value": 0, "unit": "mm", "comparator": "<"}
    assert decided["subject"] == {"reference": "Patient/pp1"}
    assert "performer" not in decided
