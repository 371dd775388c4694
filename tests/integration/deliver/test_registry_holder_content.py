"""Content a hostile or buggy hospital sends the reference registry holder (a real process).

A real registry holder loads what it receives: it refuses, with a specific
reason that never quotes the value, content that is not valid, carries an
identifier other than the registration's pseudonyms, or holds a BSN-like
number anywhere, in every resource and every CSV cell (decision 0432).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from aanlevering.deliver.manifest import describe_files
from conftest import PATIENT, stage  # module level: a later import may find another conftest
from support.holder_requests import restaged as _restaged
from support.holder_requests import send as _send
from support.registry_holder import RegistryHolder

#: Passes the BSN eleven-test; never a real person.
BSN_LIKE = "111222333"


# --- content: valid, closed and pseudonymised, or refused with a reason ----------------------


def test_a_bsn_identifier_beyond_the_validated_sample_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    bsn = {"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": BSN_LIKE}
    patients: list[dict[str, object]] = [{**PATIENT, "id": f"p-{n}"} for n in range(5001)]
    patients.append({**PATIENT, "id": "p-leak", "identifier": [bsn]})
    manifest = stage(tmp_path / "d", patients=patients)
    answer = _send(registry_holder, tmp_path / "d", manifest)
    assert answer.status_code == 422, answer.text
    assert "Patient.ndjson line 5002" in answer.text and "BSN" in answer.text
    assert BSN_LIKE not in answer.text
    assert registry_holder.ledger() == []


def test_an_identifier_outside_the_registrations_pseudonyms_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = stage(tmp_path / "d")
    mrn = {"system": "https://hospital.example/patientnummer", "value": "MRN-0042"}
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "q-1",
        "status": "completed",
        "subject": {"reference": "Patient/p-1", "identifier": mrn},
    }
    manifest = _restaged(
        tmp_path / "d",
        manifest,
        {
            "Patient.ndjson": json.dumps(PATIENT) + "\n",
            "QuestionnaireResponse.ndjson": json.dumps(response) + "\n",
        },
    )
    answer = _send(registry_holder, tmp_path / "d", manifest)
    assert answer.status_code == 422, answer.text
    assert "QuestionnaireResponse.ndjson line 1" in answer.text
    assert "not a pseudonym" in answer.text and "MRN-0042" not in answer.text


def test_a_bsn_like_value_anywhere_in_a_resource_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = stage(tmp_path / "d")
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "q-1",
        "status": "completed",
        "subject": {"reference": "Patient/p-1"},
        "item": [{"linkId": "iss", "answer": [{"valueString": f"bsn {BSN_LIKE}"}]}],
    }
    manifest = _restaged(
        tmp_path / "d",
        manifest,
        {
            "Patient.ndjson": json.dumps(PATIENT) + "\n",
            "QuestionnaireResponse.ndjson": json.dumps(response) + "\n",
        },
    )
    answer = _send(registry_holder, tmp_path / "d", manifest)
    assert answer.status_code == 422, answer.text
    assert "QuestionnaireResponse.ndjson line 1" in answer.text and "BSN" in answer.text
    assert BSN_LIKE not in answer.text


def test_a_bsn_like_csv_value_is_refused_by_row_and_column(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder)
    for item in manifest.files:
        (folder / item.name).unlink()
    (folder / "trauma.csv").write_text(
        f"NGG;leeftijd;opmerking\nNGG:v1:abc;61;\nNGG:v1:def;70;{BSN_LIKE}\n", encoding="utf-8"
    )
    files = describe_files(folder, {"trauma.csv": 2}, {"trauma.csv": "text/csv"})
    manifest = replace(manifest, format="csv", files=files, record_counts={"trauma": 2})
    answer = _send(registry_holder, folder, manifest)
    assert answer.status_code == 422, answer.text
    assert "trauma.csv row 3 column 'opmerking'" in answer.text and "BSN" in answer.text
    assert BSN_LIKE not in answer.text


def test_undecodable_or_malformed_content_is_refused_with_a_reason(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    cases = {
        "invalid UTF-8": b'{"resourceType": "Patient", "id": "p-\xff"}\n',
        "not an object": b"[1, 2]\n",
    }
    for version, (reason, body) in enumerate(cases.items(), start=1):
        folder = tmp_path / f"d{version}"
        manifest = stage(folder, version=version)
        manifest = _restaged(
            folder,
            manifest,
            {"Patient.ndjson": body, "QuestionnaireResponse.ndjson": ""},
        )
        answer = _send(registry_holder, folder, manifest)
        assert answer.status_code == 422, (reason, answer.status_code, answer.text)
        assert "Patient.ndjson" in answer.text, reason
    assert registry_holder.ledger() == []
