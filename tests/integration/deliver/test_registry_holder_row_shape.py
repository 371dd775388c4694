"""The reference registry holder reads every row strictly: a damaged record is refused (0980).

A CSV data row cut short without quotes (the last line of a truncated file)
or with more cells than the header was counted as a row; with the manifest's
count agreeing, the delivery was receipted with a damaged record. Now the
file is refused naming file, line and the cells expected and found, never a
value, and no count mismatch is made up from it (decision 0970). An NDJSON
line or Bundle entry that is no resource is refused however many resources
come before it (decision 0981). The holder is a real process.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from aanlevering.deliver.manifest import describe_files
from conftest import (
    PATIENT,
    RESPONSE,
    send_csv,
    stage,
)  # module level: a later import may find another conftest
from support.holder_requests import refusal_text
from support.holder_requests import send as _send
from support.holder_sending import refusal_of
from support.registry_holder import RegistryHolder

#: What a count mismatch caused by not reading a file would add to the refusal.
_FALSE_REASONS = ("records, manifest says", "the files hold")

#: The documented layout: the pseudonym columns of the manifest's type first (decision 1006).
_HEADER = (
    b"pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status;leeftijd;iss;ontslag\n"
)
_ROW = b"NGG:v1:abc;1;definitief;61;9;2026-01-09\n"


def test_a_csv_row_cut_short_without_quotes_is_refused_naming_its_line(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    body = _HEADER + _ROW + b"NGG:v1:def;2026-01-05"  # the last line of a truncated file
    refusal = refusal_text(send_csv(hospital_holder, folder, body, 2))
    assert "trauma.csv line 3: expected 6 cells as the header, found 2" in refusal
    assert "its records were not counted" in refusal
    assert "NGG:v1:def" not in refusal and "2026-01-05" not in refusal  # never a value
    assert not [false for false in _FALSE_REASONS if false in refusal], refusal
    assert hospital_holder.ledger() == []


def test_a_csv_row_with_more_cells_than_the_header_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    body = _HEADER + b"NGG:v1:def;2026-01-05;70;M;16;2026-02-01;extra;cells\n" + _ROW
    refusal = refusal_text(send_csv(hospital_holder, folder, body, 2))
    assert "trauma.csv line 2: expected 6 cells as the header, found 8" in refusal
    assert "extra" not in refusal and "NGG:v1:def" not in refusal
    assert not [false for false in _FALSE_REASONS if false in refusal], refusal
    assert hospital_holder.ledger() == []


def test_an_empty_line_between_csv_rows_is_refused_as_a_row_without_cells(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    body = _HEADER + _ROW + b"\n" + _ROW
    refusal = refusal_text(send_csv(hospital_holder, folder, body, 2))
    assert "trauma.csv line 3: expected 6 cells as the header, found 0" in refusal


def test_empty_trailing_lines_are_no_rows_and_a_whole_csv_is_receipted(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    body = _HEADER + _ROW + _ROW + b"\n\n"
    answer = send_csv(hospital_holder, folder, body, 2)
    assert answer.status_code == 201, answer.text
    assert answer.json()["record_counts"] == {"trauma": 2}


def test_a_quoted_cell_holding_the_separator_is_one_cell(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    body = _HEADER + b'NGG:v1:def;1;definitief;"M;X";16;"2026-02-01\r\n"\n'
    answer = send_csv(hospital_holder, folder, body, 1)
    assert answer.status_code == 201, answer.text


def _patients(count: int) -> list[dict[str, object]]:
    """``count`` valid pseudonymised Patients: more than the holder validates with the models."""
    return [{**PATIENT, "id": f"p-{n}"} for n in range(1, count + 1)]


#: Past the resources the holder validates with the R4B models (VALIDATE_LIMIT).
_BEYOND_VALIDATED = 5000


def test_an_ndjson_line_without_resource_type_past_the_validated_ones_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    patients = "".join(json.dumps(p) + "\n" for p in _patients(_BEYOND_VALIDATED))
    stray = json.dumps({"id": "x-1", "status": "final"}) + "\n"
    refusal = refusal_of(
        hospital_holder,
        folder,
        manifest,
        {
            "Patient.ndjson": patients + stray,
            "QuestionnaireResponse.ndjson": json.dumps(RESPONSE) + "\n",
        },
    )
    assert f"Patient.ndjson line {_BEYOND_VALIDATED + 1}: resource without resourceType" in refusal
    assert hospital_holder.ledger() == []


def test_an_ndjson_line_of_json_that_is_no_object_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    patient = (folder / "Patient.ndjson").read_text()
    refusal = refusal_of(
        hospital_holder,
        folder,
        manifest,
        {
            "Patient.ndjson": patient + '["Patient", "p-2"]\n',
            "QuestionnaireResponse.ndjson": json.dumps(RESPONSE) + "\n",
        },
    )
    assert "Patient.ndjson line 2: not a JSON object" in refusal


def test_a_bundle_entry_without_a_resource_is_refused_as_such(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    entries = [
        *({"fullUrl": f"urn:uuid:{p['id']}", "resource": p} for p in _patients(_BEYOND_VALIDATED)),
        {
            "fullUrl": "urn:uuid:q-1",
            "resource": {**RESPONSE, "subject": {"reference": "urn:uuid:p-1"}},
        },
        {"fullUrl": "urn:uuid:x-1"},
    ]
    for item in manifest.files:
        (folder / item.name).unlink()
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    (folder / "delivery.json").write_text(json.dumps(bundle))
    count = len(entries)
    files = describe_files(
        folder, {"delivery.json": count}, {"delivery.json": "application/fhir+json"}
    )
    manifest = replace(manifest, files=files, format="fhir-bundle")
    refusal = refusal_text(_send(hospital_holder, folder, manifest))
    assert f"delivery.json entry {count - 1}: an entry without a resource" in refusal
    assert hospital_holder.ledger() == []


def test_a_resource_type_a_questionnaire_registration_never_delivers_is_refused(
    knowing_holder: RegistryHolder, tmp_path: Path
) -> None:
    """dica-dsaa's records travel as QuestionnaireResponses: Patients and those, nothing else."""
    folder = tmp_path / "d"
    manifest = stage(folder, registration="dica-dsaa", provider=knowing_holder.hospital)
    patient = {
        **PATIENT,
        "identifier": [
            {
                "system": "https://aanlevering.example/fhir/NamingSystem/pseudonym/dica-dsaa/NGGV",
                "value": "NGGV:v1:abc",
            }
        ],
    }
    response = {
        **RESPONSE,
        "questionnaire": "https://aanlevering.example/fhir/Questionnaire/dsaa-operatie|2026.1",
    }
    observation = {
        "resourceType": "Observation",
        "id": "o-1",
        "status": "final",
        "code": {"text": "iss"},
        "subject": {"reference": "Patient/p-1"},
    }
    refusal = refusal_of(
        knowing_holder,
        folder,
        manifest,
        {
            "Patient.ndjson": json.dumps(patient) + "\n",
            "QuestionnaireResponse.ndjson": json.dumps(response) + "\n",
            "Observation.ndjson": json.dumps(observation) + "\n",
        },
        idempotency_key=f"{knowing_holder.hospital}.dica-dsaa.2026-Q1.v1",
        period="2026-Q1",
        period_end="2026-04-01",
        period_start="2026-01-01",
        dictionary_id="dsaa",
        pseudonym_types=("NGGV",),
        key_versions={"NGGV": 1},
        record_counts={"operatie": 1},
    )
    assert (
        "Observation.ndjson line 1: a resource of a type registration 'dica-dsaa' does not "
        "deliver (its records travel as QuestionnaireResponses: Patient and "
        "QuestionnaireResponse only)"
    ) in refusal
    assert knowing_holder.ledger() == []


def test_a_data_type_or_unknown_name_as_resource_type_is_refused_without_echoing_it(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    patients = "".join(json.dumps(p) + "\n" for p in _patients(_BEYOND_VALIDATED))
    strays = [{"resourceType": "Reference", "id": "x-1"}, {"resourceType": "Zorgdossier"}]
    refusal = refusal_of(
        hospital_holder,
        folder,
        manifest,
        {
            "Patient.ndjson": patients + "".join(json.dumps(s) + "\n" for s in strays),
            "QuestionnaireResponse.ndjson": json.dumps(RESPONSE) + "\n",
        },
    )
    for line in (_BEYOND_VALIDATED + 1, _BEYOND_VALIDATED + 2):
        assert f"Patient.ndjson line {line}: a resourceType that is no FHIR R4B" in refusal
    assert "Zorgdossier" not in refusal
