"""Reading opt-outs from the EHR: CSV extracts and FHIR Consent NDJSON, MRNs hashed on read."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from optout_support import MRNS, optouts_csv

from aanlevering.optout.sources import OptOutSourceInvalid
from aanlevering.optout.sources.consent import (
    BSN_SYSTEM,
    CATEGORY_SYSTEM,
    CONSENT_SCOPE_SYSTEM,
    REGISTRATION_SYSTEM,
    read_consent_ndjson,
)
from aanlevering.optout.sources.ehr_csv import read_optout_csv


def test_csv_extract_with_dutch_dates_and_scopes(tmp_path: Path, hash_mrn) -> None:
    path = optouts_csv(
        tmp_path / "optouts.csv",
        [
            f"{MRNS[0]};15-01-2027;all;",
            f"{MRNS[1]};2027-02-01;nkr-borst|dica-dsaa;",
            f"{MRNS[2]};01-03-2027;ldtr, nkr-borst;01-06-2027",
            f"{MRNS[3]};20-11-2026;Alle;",
        ],
    )
    entries = read_optout_csv(path, hash_mrn).entries
    assert [e.patient_ref for e in entries] == [hash_mrn(m) for m in MRNS]
    assert all(e.patient_ref.startswith("pr_") for e in entries)
    assert entries[0].all_registrations and entries[0].registered_on == date(2027, 1, 15)
    assert entries[1].registrations == frozenset({"nkr-borst", "dica-dsaa"})
    assert entries[2].registrations == frozenset({"ldtr", "nkr-borst"})
    assert entries[2].withdrawn_on == date(2027, 6, 1)
    assert entries[3].all_registrations and entries[3].registered_on == date(2026, 11, 20)


def test_same_patient_number_written_differently_gives_the_same_reference(hash_mrn) -> None:
    assert hash_mrn("zh-0048213") == hash_mrn(" ZH-0048213 ") == hash_mrn("ZH0048213")
    assert hash_mrn("0048213") != hash_mrn("48213")  # leading zeros matter


def test_windows_1252_extract_with_english_headers(tmp_path: Path, hash_mrn) -> None:
    path = tmp_path / "optouts.csv"
    path.write_bytes(
        "mrn;registered_on;scope;withdrawn_on;opmerking\n"
        f"{MRNS[0]};15-01-2027;all;;bezwaar via balie (patiënt)\n".encode("cp1252")
    )
    (entry,) = read_optout_csv(path, hash_mrn).entries
    assert entry.patient_ref == hash_mrn(MRNS[0])


def test_bad_csv_rows_name_line_and_column_but_never_the_value(tmp_path: Path, hash_mrn) -> None:
    path = optouts_csv(
        tmp_path / "optouts.csv",
        [
            f"{MRNS[0]};15-01-2027;all;",
            f"{MRNS[1]};2027-31-01;all;",
            "Jan de Vries;15-01-2027;all;",
            f"{MRNS[2]};15-01-2027;NKR Borst;",
            f"{MRNS[3]};15-01-2027;all;01-01-2027",
            ";15-01-2027;all;",
            f"{MRNS[0]};15-01-2027",
        ],
    )
    with pytest.raises(OptOutSourceInvalid) as error:
        read_optout_csv(path, hash_mrn)
    assert error.value.problems == [
        "line 3, column datum_registratie: expected a date like 31-12-2026 or 2026-12-31",
        "line 4, column patientnummer: expected a patient number (MRN): letters, digits "
        "and - . / _, at most 64",
        "line 5, column scope: expected 'all' or registration ids separated by '|' or ','",
        "line 6, column datum_intrekking: the withdrawal date is before the registration",
        "line 7, column patientnummer: a patient number (MRN) is required",
        "line 8: expected 4 fields separated by ';', found 2",
    ]
    message = str(error.value)
    assert all(mrn not in message for mrn in MRNS)
    assert "Jan de Vries" not in message and "2027-31-01" not in message


def test_missing_columns_are_named(tmp_path: Path, hash_mrn) -> None:
    path = optouts_csv(tmp_path / "o.csv", [], header="patientnummer;datum")
    with pytest.raises(OptOutSourceInvalid, match=r"missing column.s. datum_registratie, scope"):
        read_optout_csv(path, hash_mrn)


def consent(**overrides) -> dict:
    resource = {
        "resourceType": "Consent",
        "id": "c1",
        "status": "active",
        "scope": {"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": "research"}]},
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": "quality-registries"}]}],
        "patient": {
            "reference": "Patient/p-1",
            "identifier": {
                "system": "urn:oid:2.16.840.1.113883.2.4.6.3.99",
                "value": MRNS[0],
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
            },
        },
        "dateTime": "2027-01-20T09:30:00+01:00",
        "provision": {"type": "deny", "period": {"start": "2027-01-15"}},
    }
    resource.update(overrides)
    return resource


def write_ndjson(path: Path, resources: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    return path


def test_consents_become_optouts_and_others_are_skipped(tmp_path: Path, hash_mrn) -> None:
    scoped = consent(
        provision={
            "type": "deny",
            "period": {"start": "2027-02-01T10:00:00+01:00", "end": "2027-05-01"},
            "code": [{"coding": [{"system": REGISTRATION_SYSTEM, "code": "nkr-borst"}]}],
        },
        status="inactive",
        patient={"reference": f"Patient/{MRNS[1]}"},
    )
    path = write_ndjson(
        tmp_path / "consent.ndjson",
        [
            consent(),
            scoped,
            consent(status="entered-in-error"),
            consent(provision={"type": "permit", "period": {"start": "2027-01-01"}}),
            consent(
                scope={"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": "treatment"}]},
                category=[],
            ),
        ],
    )
    result = read_consent_ndjson(path, hash_mrn)
    first, second = result.entries
    assert first.patient_ref == hash_mrn(MRNS[0]) and first.all_registrations
    assert first.registered_on == date(2027, 1, 15) and first.source == "fhir-consent"
    assert second.patient_ref == hash_mrn(MRNS[1])
    assert second.registrations == frozenset({"nkr-borst"})
    assert (second.registered_on, second.withdrawn_on) == (date(2027, 2, 1), date(2027, 5, 1))
    assert dict(result.skipped) == {
        "status-entered-in-error": 1,
        "not-an-objection": 1,
        "not-about-registries": 1,
    }


def test_bsn_identifier_is_never_used_as_patient_number(tmp_path: Path, hash_mrn) -> None:
    resource = consent(
        patient={
            "reference": f"Patient/{MRNS[2]}",
            "identifier": {"system": BSN_SYSTEM, "value": "999911120"},
        }
    )
    (entry,) = read_consent_ndjson(
        write_ndjson(tmp_path / "c.ndjson", [resource]), hash_mrn
    ).entries
    assert entry.patient_ref == hash_mrn(MRNS[2])


def test_configured_mrn_system_is_recognised_without_a_type(tmp_path: Path, hash_mrn) -> None:
    resource = consent(
        patient={"identifier": {"system": "urn:ehr:mrn", "value": MRNS[3]}},
    )
    path = write_ndjson(tmp_path / "c.ndjson", [resource])
    with pytest.raises(OptOutSourceInvalid, match="line 1, patient: expected an MRN identifier"):
        read_consent_ndjson(path, hash_mrn)
    (entry,) = read_consent_ndjson(path, hash_mrn, ["urn:ehr:mrn"]).entries
    assert entry.patient_ref == hash_mrn(MRNS[3])


def test_bad_consents_name_line_and_element(tmp_path: Path, hash_mrn) -> None:
    path = tmp_path / "c.ndjson"
    path.write_text(
        "\n".join(
            [
                json.dumps(consent(status="inactive")),
                "{not json",
                json.dumps({"resourceType": "Patient", "id": MRNS[0]}),
                json.dumps(consent(provision={"type": "deny"}, dateTime=None)),
                json.dumps(consent(provision={"type": "deny", "period": {"start": "15-01-2027"}})),
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(OptOutSourceInvalid) as error:
        read_consent_ndjson(path, hash_mrn)
    assert error.value.problems == [
        "line 1, provision.period.end: an inactive Consent needs the withdrawal date",
        "line 2: not a JSON object",
        "line 3, resourceType: expected a Consent resource",
        "line 4, provision.period.start: the registration date is required",
        "line 5, provision.period.start: expected a FHIR date or dateTime "
        "(2027-01-15 or 2027-01-15T10:00:00Z)",
    ]
    assert all(mrn not in str(error.value) for mrn in MRNS)
