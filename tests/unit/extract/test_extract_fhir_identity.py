"""Identity from a Patient per nl-core, and sane results on US (Synthea) patients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aanlevering.extract.fhir_identity import patient_identity

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "extract"


def _patients(folder: str) -> list[dict[str, Any]]:
    path = FIXTURES / folder / "Patient.ndjson"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_dutch_patient_with_name_and_address_parts() -> None:
    identity = patient_identity(_patients("fhir-nl")[0])
    assert identity == {
        "patient_id": "pat-1",
        "bsn": "999911120",
        "mrn": "ZH-0042",
        "own_prefix": "van",
        "own_name": "Putten",
        "partner_prefix": "van der",
        "partner_name": "Giessen",
        "initials": "J.P.",
        "given_names": "Johanna Petronella",
        "birth_date": "1950-03-02",
        "sex": "female",
        "postcode": "1012 NX",
        "house_number": "12",
        "house_number_addition": "A",
        "street": "Kerkstraat",  # for the output guard only (decision 0410)
        "phone": None,
        "email": None,
    }


def test_fallbacks_family_first_non_bsn_identifier_and_parsed_house_number() -> None:
    identity = patient_identity(_patients("fhir-nl")[1])
    assert identity["own_name"] == "Jansen" and identity["own_prefix"] is None
    assert identity["partner_name"] is None
    assert identity["given_names"] == "Karel" and identity["initials"] is None
    assert identity["mrn"] == "ZH-0077" and identity["bsn"] == "999910048"
    assert (identity["house_number"], identity["house_number_addition"]) == ("7", "bis")
    assert identity["postcode"] == "9711AB"


def test_configured_mrn_system_wins() -> None:
    patient = _patients("fhir-nl")[0]
    patient["identifier"].append({"system": "urn:oid:1.2.3", "value": "OTHER-1"})
    assert patient_identity(patient, mrn_system="urn:oid:1.2.3")["mrn"] == "OTHER-1"
    # a patient without the configured system falls back to the identifier typed MR
    assert patient_identity(patient, mrn_system="urn:oid:9.9")["mrn"] == "ZH-0042"
    untyped = _patients("fhir-nl")[1]
    assert patient_identity(untyped, mrn_system="urn:oid:9.9")["mrn"] is None


def test_synthea_patient_ssn_is_not_a_bsn_and_maiden_name_is_the_birth_name() -> None:
    maria, robert, _ = _patients("synthea/export")
    identity = patient_identity(maria)
    assert identity["bsn"] is None
    assert identity["mrn"] == maria["id"]  # the identifier typed MR, not the SSN or licence
    assert identity["own_name"] == "Garcia" and identity["given_names"] == "Maria"
    assert identity["postcode"] == "01234"
    assert identity["house_number"] is None  # "123 Main Street Apt 4" is no Dutch address
    assert identity["sex"] == "female" and identity["birth_date"] == "1951-06-14"
    assert "999-34-5678" not in json.dumps(identity)
    assert patient_identity(robert)["own_name"] == "Miller"


def test_old_identifiers_and_names_are_ignored() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "x",
        "identifier": [
            {"use": "old", "system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "111"},
        ],
        "name": [{"use": "old", "family": "Vroeger"}, {"family": "Nu"}],
    }
    identity = patient_identity(patient)
    assert identity["bsn"] is None and identity["own_name"] == "Nu"


def test_separate_initials_are_joined_as_dutch_exports_write_them() -> None:
    qualifier = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier"
    initial = {"extension": [{"url": qualifier, "valueCode": "IN"}]}
    patient = {
        "resourceType": "Patient",
        "id": "x",
        "name": [{"family": "Beek", "given": ["B.", "P."], "_given": [initial, initial]}],
    }
    assert patient_identity(patient)["initials"] == "B.P."


def test_street_phone_and_email_are_kept_for_the_output_guard() -> None:
    """Decision 0410: street (extension or parsed line), current phones and e-mails, joined."""
    sd = "http://hl7.org/fhir/StructureDefinition/"
    patient = {
        "resourceType": "Patient",
        "address": [
            {
                "use": "home",
                "line": ["Dorpsstraat 12"],
                "_line": [{"extension": [{"url": sd + "iso21090-ADXP-streetName",
                                          "valueString": "Dorpsstraat"}]}],
            }
        ],
        "telecom": [
            {"system": "phone", "value": "06-12345678"},
            {"system": "sms", "value": "+31 6 87654321"},
            {"system": "phone", "value": "020-1234567", "period": {"end": "2020-01-01"}},
            {"system": "email", "value": "a.devries@example.nl"},
            {"system": "fax", "value": "020-7654321"},
        ],
    }  # fmt: skip
    identity = patient_identity(patient)
    assert identity["street"] == "Dorpsstraat"
    assert identity["house_number"] == "12"
    assert identity["phone"] == "06-12345678; +31 6 87654321"
    assert identity["email"] == "a.devries@example.nl"
    parsed = patient_identity({"address": [{"line": ["Van Heemstralaan 7-bis"]}]})
    assert parsed["street"] == "Van Heemstralaan"
    assert patient_identity({"address": [{"line": ["123 Main Street"]}]})["street"] is None
