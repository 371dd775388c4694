"""The reference registry holder refuses a FHIR delivery whose references leave it (0232)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aanlevering.counterparts.registry_holder.checks import check_delivery
from aanlevering.deliver.manifest import Manifest, describe_files
from support.holder_manifests import ldtr_manifest

PSEUDED = {
    "security": [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "PSEUDED"}
    ]
}
PATIENT = {"resourceType": "Patient", "id": "p-1", "meta": PSEUDED}
ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "e-1",
    "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"},
    "subject": {"reference": "Patient/p-1"},
}


def _observation(encounter: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "9269-2"}]},
        "subject": {"reference": "Patient/p-1"},
        "encounter": {"reference": encounter},
        "valueInteger": 14,
    }


def _manifest(folder: Path, records: dict[str, int], format: str) -> Manifest:
    return ldtr_manifest(
        describe_files(folder, records, {}), format=format, record_counts={"trauma": 1}
    )


def _ndjson(folder: Path, *resources: dict[str, Any]) -> Manifest:
    folder.mkdir()
    by_type: dict[str, list[str]] = {}
    for resource in resources:
        by_type.setdefault(f"{resource['resourceType']}.ndjson", []).append(json.dumps(resource))
    for name, lines in by_type.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    return _manifest(folder, {name: len(lines) for name, lines in by_type.items()}, "fhir-ndjson")


def test_a_closed_ndjson_delivery_is_accepted(tmp_path: Path) -> None:
    manifest = _ndjson(tmp_path / "d", PATIENT, ENCOUNTER, _observation("Encounter/e-1"))
    assert check_delivery(tmp_path / "d", manifest) == []


def test_a_reference_to_an_undelivered_resource_is_refused_without_naming_its_id(
    tmp_path: Path,
) -> None:
    manifest = _ndjson(tmp_path / "d", PATIENT, ENCOUNTER, _observation("Encounter/source-4711"))
    problems = check_delivery(tmp_path / "d", manifest)
    assert problems == [
        "Observation.ndjson line 1: reference to a Encounter that is not in the delivery"
    ]
    assert "source-4711" not in "".join(problems)


def test_bundle_references_resolve_through_full_urls_across_the_delivery(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    entries = [
        {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111", "resource": PATIENT},
        {
            "fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
            "resource": {
                **ENCOUNTER,
                "subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"},
            },
        },
    ]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    (folder / "Bundle-000001.json").write_text(json.dumps(bundle))
    assert check_delivery(folder, _manifest(folder, {"Bundle-000001.json": 2}, "fhir-bundle")) == []

    dangling = {**bundle, "entry": [entries[1]]}  # the Patient is not delivered
    (folder / "Bundle-000001.json").write_text(json.dumps(dangling))
    problems = check_delivery(folder, _manifest(folder, {"Bundle-000001.json": 1}, "fhir-bundle"))
    assert problems == [
        "Bundle-000001.json entry 0: reference to a urn:uuid entry that is not in the delivery"
    ]
