"""Staged deliveries for channel tests: small, valid, pseudonymised FHIR and CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from aanlevering.deliver.manifest import Manifest, describe_files, idempotency_key
from support.holder_requests import csv_delivery, send
from support.registry_holder import RegistryHolder

PATIENT = {
    "resourceType": "Patient",
    "id": "p-1",
    "meta": {
        "security": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                "code": "PSEUDED",
            }
        ]
    },
    "identifier": [
        {
            "system": "https://aanlevering.example/fhir/NamingSystem/pseudonym/ldtr/NGG",
            "value": "NGG:v1:abc",
        }
    ],
    "gender": "female",
    "birthDate": "1961",
}
RESPONSE = {
    "resourceType": "QuestionnaireResponse",
    "id": "q-1",
    "status": "completed",
    # The dataset it is a record of: a response naming none is not countable (decision 0595).
    "questionnaire": "https://aanlevering.example/fhir/Questionnaire/ltr-trauma|2026.1",
    "subject": {"reference": "Patient/p-1"},
    "item": [{"linkId": "iss", "answer": [{"valueInteger": 9}]}],
}


def stage(
    folder: Path,
    registration: str = "ldtr",
    version: int = 1,
    patients: list[dict[str, object]] | None = None,
    provider: str = "demo-hospital",
) -> Manifest:
    """Write a small FHIR NDJSON delivery into ``folder`` and return its manifest.

    ``provider``: the hospital delivering it (a shared holder's hospital, decision 0831).
    """
    folder.mkdir(parents=True, exist_ok=True)
    patients = patients or [PATIENT]
    (folder / "Patient.ndjson").write_text("".join(json.dumps(p) + "\n" for p in patients))
    (folder / "QuestionnaireResponse.ndjson").write_text(json.dumps(RESPONSE) + "\n")
    records = {"Patient.ndjson": len(patients), "QuestionnaireResponse.ndjson": 1}
    files = describe_files(folder, records, {n: "application/fhir+ndjson" for n in records})
    return Manifest(
        idempotency_key=idempotency_key(provider, registration, "2026-03", version),
        registration=registration,
        registry_holder="lnaz",
        period="2026-03",
        period_start="2026-03-01",
        period_end="2026-04-01",
        version=version,
        dictionary_id="ltr",
        dictionary_version="2026.1",
        format="fhir-ndjson",
        normalisation_profile="nl-2026.1",
        pseudonym_types=("NGG",),
        key_versions={"NGG": 1},
        ttp_mode="web",
        provider_id=provider,
        files=files,
        record_counts={"trauma": 1},
        supersedes=None
        if version == 1
        else idempotency_key(provider, registration, "2026-03", version - 1),
    )


@pytest.fixture
def staged(tmp_path: Path) -> tuple[Path, Manifest]:
    folder = tmp_path / "staging"
    return folder, stage(folder)


def send_csv(holder: RegistryHolder, folder: Path, body: bytes, claimed: int) -> requests.Response:
    """``holder``'s hospital sends one ``trauma.csv`` of ``body`` claiming ``claimed`` records.

    Raw requests (support.holder_requests): the file is whatever the test wrote, damaged or not.
    """
    manifest = stage(folder, provider=holder.hospital)
    return send(holder, folder, csv_delivery(folder, manifest, body, claimed))
