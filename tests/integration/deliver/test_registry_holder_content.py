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

import pytest

from aanlevering.deliver.manifest import Manifest, describe_files
from conftest import PATIENT, stage  # module level: a later import may find another conftest
from support.holder_requests import csv_delivery
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
    manifest = stage(tmp_path / "d", provider=registry_holder.hospital, patients=patients)
    answer = _send(registry_holder, tmp_path / "d", manifest)
    assert answer.status_code == 422, answer.text
    assert "Patient.ndjson line 5002" in answer.text and "BSN" in answer.text
    assert BSN_LIKE not in answer.text
    assert registry_holder.ledger() == []


def test_an_identifier_outside_the_registrations_pseudonyms_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = stage(tmp_path / "d", provider=registry_holder.hospital)
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


@pytest.mark.parametrize("value", ["12345678", "MRN-0042", "RGG:v1:abc", "NGG:abc", ""])
def test_a_pseudonym_identifier_whose_value_is_no_pseudonym_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path, value: str
) -> None:
    """The registration's pseudonym system with a clear number (or another type's label):
    the identifier names a pseudonym and holds none (decision 1009)."""
    manifest = stage(tmp_path / "d", provider=registry_holder.hospital)
    (identifier,) = PATIENT["identifier"]
    patient = {**PATIENT, "identifier": [{**identifier, "value": value}]}
    manifest = _restaged(tmp_path / "d", manifest, {"Patient.ndjson": json.dumps(patient) + "\n"})
    answer = _send(registry_holder, tmp_path / "d", manifest)
    assert answer.status_code == 422, answer.text
    assert "Patient.ndjson line 1" in answer.text
    assert "an NGG pseudonym identifier whose value is no NGG pseudonym" in answer.text
    assert (value or "\u0000") not in json.loads(answer.text)["detail"]["problems"][0]
    assert registry_holder.ledger() == []


def test_a_pseudonym_column_cell_that_is_no_pseudonym_is_refused_by_row(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=registry_holder.hospital)
    body = (
        b"pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status;leeftijd\n"
        b"NGG:v1:abc;1;definitief;61\n12345678;1;definitief;70\nT1:NGG:v1:def;1;tijdelijk;52\n"
    )
    delivery = csv_delivery(folder, manifest, body, 3)
    answer = _send(registry_holder, folder, delivery)
    assert answer.status_code == 422, answer.text
    assert json.loads(answer.text)["detail"]["problems"] == [
        "trauma.csv row 3 column 'pseudoniem_NGG': a value that is no NGG pseudonym "
        "(<type>:v<version>:<code>): identifiers must be pseudonymised",
        # A pseudonym's form, but this holder has no TTP to exchange it (decision 1060).
        "trauma.csv row 4 column 'pseudoniem_NGG': a temporary pseudonym, and this registry "
        "holder has no TTP to exchange temporary pseudonyms for definitive ones (it stores "
        "none unexchanged): the holder's configuration, not the delivery, must change",
    ]


@pytest.mark.parametrize(
    "answer",
    [
        {"valueString": f"bsn {BSN_LIKE}"},
        # A number is no safer than a text: the product's own check (0603) refuses both (1007).
        {"valueInteger": int(BSN_LIKE)},
        {"valueDecimal": float(BSN_LIKE)},
    ],
)
def test_a_bsn_like_value_anywhere_in_a_resource_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path, answer: dict[str, object]
) -> None:
    manifest = stage(tmp_path / "d", provider=registry_holder.hospital)
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "q-1",
        "status": "completed",
        "subject": {"reference": "Patient/p-1"},
        "item": [{"linkId": "iss", "answer": [answer]}],
    }
    manifest = _restaged(
        tmp_path / "d",
        manifest,
        {
            "Patient.ndjson": json.dumps(PATIENT) + "\n",
            "QuestionnaireResponse.ndjson": json.dumps(response) + "\n",
        },
    )
    sent = _send(registry_holder, tmp_path / "d", manifest)
    assert sent.status_code == 422, sent.text
    assert "QuestionnaireResponse.ndjson line 1" in sent.text and "BSN" in sent.text
    assert BSN_LIKE not in sent.text


def test_a_bsn_like_csv_value_is_refused_by_row_and_column(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=registry_holder.hospital)
    body = f"NGG;leeftijd;opmerking\nNGG:v1:abc;61;\nNGG:v1:def;70;{BSN_LIKE}\n".encode()
    manifest = csv_delivery(folder, manifest, body, 2)
    answer = _send(registry_holder, folder, manifest)
    assert answer.status_code == 422, answer.text
    # Without the dictionary the holder does not know the column: it gives its number.
    assert "trauma.csv row 3 column 3:" in answer.text and "BSN" in answer.text
    assert "opmerking" not in answer.text
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
        manifest = stage(folder, provider=registry_holder.hospital, version=version)
        manifest = _restaged(
            folder,
            manifest,
            {"Patient.ndjson": body, "QuestionnaireResponse.ndjson": ""},
        )
        answer = _send(registry_holder, folder, manifest)
        assert answer.status_code == 422, (reason, answer.status_code, answer.text)
        assert "Patient.ndjson" in answer.text, reason
    assert registry_holder.ledger() == []


# --- record counts are what the files hold (decision 0434) ---------------------------------


def test_csv_record_counts_other_than_the_rows_are_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=registry_holder.hospital)
    body = (
        b"pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status;leeftijd\n"
        b"NGG:v1:abc;1;definitief;61\nNGG:v1:def;1;definitief;70\n"
    )
    claimed = replace(csv_delivery(folder, manifest, body, 2), record_counts={"trauma": 2000})
    answer = _send(registry_holder, folder, claimed)
    assert answer.status_code == 422, answer.text
    assert "record_counts says 2000 record(s) of dataset 'trauma', the files hold 2" in answer.text
    honest = replace(claimed, record_counts={"trauma": 2})
    receipt = _send(registry_holder, folder, honest)
    assert receipt.status_code == 201, receipt.text
    assert receipt.json()["record_counts"] == {"trauma": 2}


def test_fhir_record_counts_are_the_questionnaire_responses_per_dataset(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = stage(tmp_path / "d", provider=registry_holder.hospital)
    questionnaire = "https://aanlevering.example/fhir/Questionnaire/ltr-trauma"
    responses = [
        {
            "resourceType": "QuestionnaireResponse",
            "id": f"q-{n}",
            "status": "completed",
            "questionnaire": f"{questionnaire}|{version}",
            "subject": {"reference": "Patient/p-1"},
        }
        for n, version in enumerate(["2026.1", "2026.1", "2026.1"])
    ]
    texts: dict[str, str | bytes] = {
        "Patient.ndjson": json.dumps(PATIENT) + "\n",
        "QuestionnaireResponse.ndjson": "".join(json.dumps(r) + "\n" for r in responses),
    }
    overcounted = _restaged(tmp_path / "d", manifest, texts)  # record_counts: trauma 1
    answer = _send(registry_holder, tmp_path / "d", overcounted)
    assert answer.status_code == 422, answer.text
    assert "record_counts says 1 record(s) of dataset 'trauma', the files hold 3" in answer.text
    responses[2]["questionnaire"] = f"{questionnaire}|2025.1"
    texts["QuestionnaireResponse.ndjson"] = "".join(json.dumps(r) + "\n" for r in responses)
    other_version = _restaged(tmp_path / "d", manifest, texts)
    answer = _send(
        registry_holder, tmp_path / "d", replace(other_version, record_counts={"trauma": 3})
    )
    assert answer.status_code == 422, answer.text
    assert "QuestionnaireResponse.ndjson line 3" in answer.text
    assert "another dictionary or version than the manifest's ltr 2026.1" in answer.text


def test_a_questionnaire_response_naming_no_questionnaire_is_refused_as_not_countable(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    """Uncountable is refused: before, one such response switched the counts check off (0595)."""
    manifest = stage(tmp_path / "d", provider=registry_holder.hospital)
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "q-1",
        "status": "completed",
        "subject": {"reference": "Patient/p-1"},
    }
    texts: dict[str, str | bytes] = {
        "Patient.ndjson": json.dumps(PATIENT) + "\n",
        "QuestionnaireResponse.ndjson": json.dumps(response) + "\n",
    }
    claimed = replace(_restaged(tmp_path / "d", manifest, texts), record_counts={"trauma": 7})
    answer = _send(registry_holder, tmp_path / "d", claimed)
    assert answer.status_code == 422, answer.text
    assert "QuestionnaireResponse.ndjson line 1" in answer.text
    assert "naming no Questionnaire: its record cannot be counted" in answer.text


# --- the registration's terms: approved pseudonym types and dictionary (decision 0435) -------

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"


@pytest.fixture
def registry_holder(hospital_holder: RegistryHolder) -> RegistryHolder:
    """A hospital of its own on the module's shared holder (decision 0831)."""
    return hospital_holder


def _trauma_csv(folder: Path, header: list[str], manifest: Manifest, last: str = "x") -> Manifest:
    for item in manifest.files:
        (folder / item.name).unlink(missing_ok=True)
    row = ["NGG:v1:abc", "1", "definitief", *(["x"] * (len(header) - 4)), last]
    (folder / "trauma.csv").write_text(";".join(header) + "\n" + ";".join(row) + "\n")
    files = describe_files(folder, {"trauma.csv": 1}, {"trauma.csv": "text/csv"})
    return replace(manifest, format="csv", files=files, record_counts={"trauma": 1})


def test_a_header_other_than_the_dictionarys_columns_is_refused(
    knowing_holder: RegistryHolder, tmp_path: Path
) -> None:
    from aanlevering.counterparts.registry_holder.terms import load_terms

    columns = list(load_terms(CATALOGUE)["ldtr"].datasets["trauma"])
    pseudonym = ["pseudoniem_NGG", "pseudoniem_NGG_sleutelversie", "pseudoniem_NGG_status"]
    folder = tmp_path / "d"
    manifest = stage(folder, provider=knowing_holder.hospital)
    wrong = _trauma_csv(folder, [*pseudonym, *columns[:-1], "naam_patient"], manifest)
    answer = _send(knowing_holder, folder, wrong)
    assert answer.status_code == 422, answer.text
    expected = "trauma.csv: the header is not the columns of dataset 'trauma': missing"
    assert f"{expected} ['{columns[-1]}'], 1 column(s)" in answer.text
    assert "naam_patient" not in answer.text
    leaking = _trauma_csv(folder, [*pseudonym, *columns], manifest, last=BSN_LIKE)
    answer = _send(knowing_holder, folder, leaking)
    assert answer.status_code == 422, answer.text
    assert f"trauma.csv row 2 column {columns[-1]!r}: a value that looks like a BSN" in answer.text
    assert BSN_LIKE not in answer.text
    right = _trauma_csv(folder, [*pseudonym, *columns], manifest)
    answer = _send(knowing_holder, folder, right)
    # ldtr is delivered as NDJSON (1008): the right header leaves only the format refused.
    assert answer.status_code == 422, answer.text
    assert json.loads(answer.text)["detail"]["problems"] == [
        "format 'csv' is not registration 'ldtr''s (its deliveries are 'fhir-ndjson')"
    ]


def test_unapproved_pseudonym_types_or_another_dictionary_are_refused(
    knowing_holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = stage(tmp_path / "d", provider=knowing_holder.hospital)
    with_bsn = replace(manifest, pseudonym_types=("NGG", "B"), key_versions={"NGG": 1, "B": 1})
    answer = _send(knowing_holder, tmp_path / "d", with_bsn)
    assert answer.status_code == 422, answer.text
    assert "pseudonym type(s) B not approved for registration 'ldtr'" in answer.text
    older = replace(manifest, dictionary_version="2025.1")
    answer = _send(knowing_holder, tmp_path / "d", older)
    assert answer.status_code == 422, answer.text
    assert "dictionary ltr 2025.1 is not the registration's (ltr 2026.1)" in answer.text
    assert _send(knowing_holder, tmp_path / "d", manifest).status_code == 201
