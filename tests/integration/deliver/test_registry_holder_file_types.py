"""The reference registry holder reads a delivery as a real one would: by its files' names.

A bulk-data consumer loads ``Patient.ndjson`` as Patients: a line of another
type in it is refused naming file, line and the type the name promises
(decision 0983). A Bundle is a ``collection``, the only type the product
writes (0984). A refusal names every problem found in one answer, a file
that could not be counted hiding no count of the others (0985). A holder
knowing the catalogue refuses a resource type a ``resources``/``both``
registration's mappings never produce (0986). An NDJSON file whose name names
no resource type is refused: a holder files records by type (1000); so is a
JSON file named otherwise than the product names its Bundles (1001), and a
file of a kind the holder does not read (``Patient.NDJSON``,
``Patient.ndjson.gz``) rather than left out of what it checks (1002). The
holder is a real process.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.deliver.manifest import Manifest, describe_files
from conftest import PATIENT, RESPONSE, stage  # module level: a later import may find another
from support.holder_requests import ndjson_lines, refusal_text
from support.holder_requests import send as _send
from support.holder_sending import ndjson_texts, problems_with, refusal_of
from support.registry_holder import RegistryHolder

#: A valid Observation of the staged Patient: of a type its file name must promise.
OBSERVATION = {
    "resourceType": "Observation",
    "id": "o-1",
    "status": "final",
    "code": {"text": "iss"},
    "subject": {"reference": "Patient/p-1"},
}


def test_an_ndjson_line_of_another_type_than_its_file_name_promises_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    refusal = refusal_of(
        hospital_holder,
        folder,
        manifest,
        ndjson_texts(Patient=(PATIENT, OBSERVATION), QuestionnaireResponse=(RESPONSE,)),
    )
    assert (
        "Patient.ndjson line 2: a resource of another type than its file's name promises "
        "(Patient only)"
    ) in refusal
    assert "Observation" not in refusal  # the type written is never echoed
    assert hospital_holder.ledger() == []


def test_a_bulk_export_style_name_promises_its_type_too(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    refusal = refusal_of(
        hospital_holder,
        folder,
        manifest,
        {
            "Patient.ndjson": ndjson_lines(PATIENT),
            "QuestionnaireResponse.000.ndjson": ndjson_lines(RESPONSE, PATIENT | {"id": "p-2"}),
        },
    )
    assert "QuestionnaireResponse.000.ndjson line 2: a resource of another type" in refusal


@pytest.mark.parametrize("name", ["data.ndjson", "patients-2026.ndjson", "patient.ndjson"])
def test_an_ndjson_file_whose_name_names_no_resource_type_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, name: str
) -> None:
    """Its content is right in everything (the product's own lines): the name alone is refused."""
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    refusal = refusal_of(
        hospital_holder,
        folder,
        manifest,
        {"Patient.ndjson": ndjson_lines(PATIENT), name: ndjson_lines(RESPONSE)},
    )
    # The only problem: its lines were read and counted, so no count is missing or made up.
    assert json.loads(refusal)["problems"] == [
        f"{name}: an NDJSON file whose name names no FHIR resource type "
        "(expected <ResourceType>.ndjson or <ResourceType>.<nnn>.ndjson)"
    ]
    assert hospital_holder.ledger() == []


def _bundle_delivery(
    folder: Path, manifest: Manifest, bundle: dict[str, object], name: str = "Bundle-000001.json"
) -> Manifest:
    for item in manifest.files:
        (folder / item.name).unlink()
    (folder / name).write_text(json.dumps(bundle))
    files = describe_files(folder, {name: 2}, {name: "application/fhir+json"})
    return replace(manifest, files=files, format="fhir-bundle")


def _bundle(**bundle_type: str) -> dict[str, object]:
    return {
        "resourceType": "Bundle",
        **bundle_type,
        "entry": [
            {"fullUrl": "urn:uuid:p-1", "resource": PATIENT},
            {
                "fullUrl": "urn:uuid:q-1",
                "resource": {**RESPONSE, "subject": {"reference": "urn:uuid:p-1"}},
            },
        ],
    }


@pytest.mark.parametrize("bundle_type", [{"type": "transaction"}, {"type": "searchset"}, {}])
def test_a_bundle_of_another_type_than_collection_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, bundle_type: dict[str, str]
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    manifest = _bundle_delivery(folder, manifest, _bundle(**bundle_type))
    refusal = refusal_text(_send(hospital_holder, folder, manifest))
    said = "another type" if bundle_type else "no type"
    assert (
        f"Bundle-000001.json: a Bundle of {said} (a delivery is a Bundle of type 'collection')"
    ) in refusal
    assert "transaction" not in refusal and "searchset" not in refusal
    assert hospital_holder.ledger() == []


@pytest.mark.parametrize("name", ["Bundle-000001.json", "Bundle-1234567.json"])
def test_a_collection_bundle_is_receipted(
    hospital_holder: RegistryHolder, tmp_path: Path, name: str
) -> None:
    """Named as the product names its Bundles (``Bundle-000001.json``; more digits past 999,999)."""
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    manifest = _bundle_delivery(folder, manifest, _bundle(type="collection"), name)
    answer = _send(hospital_holder, folder, manifest)
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "name",
    ["data.json", "Patient.json", "Bundle.json", "bundle-000001.json", "Bundle-000001.v2.json"],
)
def test_a_json_file_named_otherwise_than_the_products_bundles_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, name: str
) -> None:
    """A right collection Bundle in everything but its name: the name alone is refused, its
    entries still read and counted (no count is missing or made up)."""
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    manifest = _bundle_delivery(folder, manifest, _bundle(type="collection"), name)
    refusal = refusal_text(_send(hospital_holder, folder, manifest))
    assert json.loads(refusal)["problems"] == [
        f"{name}: a JSON data file named otherwise than Bundle-<nnnnnn>.json"
    ]
    assert hospital_holder.ledger() == []


def test_a_misnamed_json_file_that_is_no_bundle_is_refused_for_both(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    """A single Patient as ``Patient.json``: its name, and that it is no Bundle (not counted)."""
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    problems = problems_with(
        hospital_holder,
        folder,
        manifest,
        {
            "Patient.json": json.dumps(PATIENT),
            "QuestionnaireResponse.ndjson": ndjson_lines(RESPONSE),
        },
    )
    assert problems == [
        "Patient.json: a JSON data file named otherwise than Bundle-<nnnnnn>.json",
        # Beside NDJSON, under a fhir-ndjson manifest: of another format too (decision 1005).
        "Patient.json: a file the manifest's format 'fhir-ndjson' does not hold (a fhir-ndjson "
        "delivery's data files are <ResourceType>.ndjson or <ResourceType>.<nnn>.ndjson)",
        "Patient.json: not a Bundle; its records were not counted",
    ]


#: What a refusal of a file the holder does not read says is expected.
_READ_NAMES = (
    "a file of a kind the registry holder does not read (a delivery's data files are "
    "<ResourceType>.ndjson, Bundle-<nnnnnn>.json and <dataset>.csv, named in lower case "
    "and not compressed); its records were not counted"
)


@pytest.mark.parametrize(
    "name", ["Patient.NDJSON", "Patient.Ndjson", "Patient.ndjson.gz", "Patient.jsonl"]
)
def test_a_file_the_holder_does_not_read_is_refused_by_name_saying_what_it_reads(
    hospital_holder: RegistryHolder, tmp_path: Path, name: str
) -> None:
    """The Patient travels in a file the holder does not read: refused by that name alone.

    Not read, so the Response's reference to it is not said to resolve to
    nothing: the Patient may be in that file (decision 0970's false reason).
    """
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    refusal = refusal_of(
        hospital_holder,
        folder,
        manifest,
        {name: ndjson_lines(PATIENT), "QuestionnaireResponse.ndjson": ndjson_lines(RESPONSE)},
    )
    assert json.loads(refusal)["problems"] == [f"{name}: {_READ_NAMES}"]
    assert hospital_holder.ledger() == []


def test_a_bundle_file_holding_ndjson_lines_is_refused_saying_where_they_go(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    refusal = refusal_of(
        hospital_holder,
        folder,
        manifest,
        {"Bundle-000001.json": ndjson_lines(PATIENT, RESPONSE)},
        format="fhir-bundle",
    )
    assert json.loads(refusal)["problems"] == [
        "Bundle-000001.json line 2: more than one JSON value (a JSON data file holds one "
        "Bundle; NDJSON lines go in <ResourceType>.ndjson); its records were not counted"
    ]


def test_a_type_a_registrations_mappings_never_produce_is_refused(
    knowing_holder: RegistryHolder, tmp_path: Path
) -> None:
    """ldtr delivers ``both``: its mappings read Encounters and Observations, no Procedure."""
    folder = tmp_path / "d"
    manifest = stage(folder, provider=knowing_holder.hospital)
    procedure = {
        "resourceType": "Procedure",
        "id": "pr-1",
        "status": "completed",
        "subject": {"reference": "Patient/p-1"},
    }
    refusal = refusal_of(
        knowing_holder,
        folder,
        manifest,
        ndjson_texts(
            Patient=(PATIENT,),
            QuestionnaireResponse=(RESPONSE,),
            Observation=(OBSERVATION,),
            Procedure=(procedure,),
        ),
    )
    assert (
        "Procedure.ndjson line 1: a resource of a type registration 'ldtr' does not deliver "
        "(its mappings produce Encounter, Observation, Patient and QuestionnaireResponse only)"
    ) in refusal
    assert "Observation.ndjson" not in refusal
    assert knowing_holder.ledger() == []
