"""Demo opt-outs feed the opt-out register as they are: CSV and Consent agree."""

from __future__ import annotations

from pathlib import Path

from aanlevering.optout.sources import mrn_hasher
from aanlevering.optout.sources.consent import read_consent_ndjson
from aanlevering.optout.sources.ehr_csv import read_optout_csv
from aanlevering.pseudonym.patient_ref import PatientRefHasher


def test_register_reads_the_same_opt_outs_from_csv_and_consent(demo_dir: Path) -> None:
    hash_mrn = mrn_hasher(PatientRefHasher(b"test-key-for-patient-refs-000001"))
    from_csv = read_optout_csv(demo_dir / "optouts.csv", hash_mrn)
    from_fhir = read_consent_ndjson(demo_dir / "fhir-bulk" / "consent" / "Consent.ndjson", hash_mrn)
    assert not from_csv.skipped and not from_fhir.skipped

    def facts(entries):  # type: ignore[no-untyped-def]
        return [
            (e.patient_ref, e.registered_on, e.all_registrations, e.registrations, e.withdrawn_on)
            for e in entries
        ]

    assert facts(from_csv.entries) == facts(from_fhir.entries)
    entries = from_csv.entries
    assert len(entries) > 20
    assert {e.registered_on.year for e in entries} == {2026, 2027}
    assert any(e.withdrawn_on for e in entries) and any(not e.withdrawn_on for e in entries)
    assert any(e.all_registrations for e in entries)
    assert any(not e.all_registrations for e in entries)
