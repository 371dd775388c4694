"""The reference registry holder accepts a Patient generalised to PC4, nothing more identifying."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.counterparts.registry_holder.checks import check_delivery
from aanlevering.deliver.manifest import Manifest, describe_files, idempotency_key

PATIENT = {
    "resourceType": "Patient",
    "id": "p-1",
    "identifier": [{"system": "urn:aanlevering:pseudonym:NGG", "value": "NGG:v1:abc"}],
    "birthDate": "1961",
}


def _delivery(folder: Path, patient: dict[str, object]) -> Manifest:
    folder.mkdir()
    (folder / "Patient.ndjson").write_text(json.dumps(patient) + "\n")
    files = describe_files(folder, {"Patient.ndjson": 1}, {})
    return Manifest(
        idempotency_key=idempotency_key("h", "ldtr", "2026-03", 1),
        registration="ldtr",
        registry_holder="lnaz",
        period="2026-03",
        period_start="2026-03-01",
        period_end="2026-04-01",
        version=1,
        dictionary_id="ltr",
        dictionary_version="2026.1",
        format="fhir-ndjson",
        normalisation_profile="nl-2026.1",
        pseudonym_types=("NGG",),
        key_versions={"NGG": 1},
        ttp_mode="web",
        provider_id="h",
        files=files,
        record_counts={"trauma": 1},
    )


def test_a_pc4_address_is_accepted(tmp_path: Path) -> None:
    patient = {**PATIENT, "address": [{"postalCode": "3511"}]}
    assert check_delivery(tmp_path / "d", _delivery(tmp_path / "d", patient)) == []


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"address": [{"postalCode": "3511AB"}]}, "beyond a 4-digit postal code"),
        ({"address": [{"postalCode": "3511", "city": "Utrecht"}]}, "beyond a 4-digit"),
        ({"address": [{"line": ["Dorpsstraat 1"]}]}, "beyond a 4-digit postal code"),
        ({"name": [{"family": "Jansen"}]}, "name or telecom"),
        ({"telecom": [{"system": "phone", "value": "0612345678"}]}, "name or telecom"),
    ],
)
def test_anything_more_identifying_is_refused(
    tmp_path: Path, extra: dict[str, object], problem: str
) -> None:
    problems = check_delivery(tmp_path / "d", _delivery(tmp_path / "d", {**PATIENT, **extra}))
    assert problems and problem in problems[0]
