"""A Consent on ``Patient/<id>`` excludes the patient whose MRN differs from that id.

The Consent names its patient the way the FHIR server does; opt-outs are keyed
by the hospital patient number. With the export at hand the reference is
resolved through its Patients (by id and by identifier), so the patient's
records are removed before anything is pseudonymised. Real SQLite event log,
real extract of the fixture export.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.events import open_event_store
from aanlevering.extract import extract
from aanlevering.optout.ingests import record_ingest
from aanlevering.optout.service import record_optouts
from aanlevering.optout.sources import OptOutSourceInvalid, mrn_hasher
from aanlevering.optout.sources.consent import read_consent_ndjson, read_consents_in_export
from aanlevering.optout.sources.patient_index import load_patient_index
from aanlevering.periods import Period
from aanlevering.pipeline.operations import apply_optouts_to_extract
from aanlevering.pseudonym.patient_ref import PatientRefHasher
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"
MRN_OF_PAT_2 = "ZH-0077"  # the fixture's pat-2 has this MR identifier
SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"


def consent(patient: dict[str, Any], consent_id: str = "c1") -> dict[str, Any]:
    return {
        "resourceType": "Consent",
        "id": consent_id,
        "status": "active",
        "scope": {"coding": [{"system": SCOPE, "code": "research"}]},
        "patient": patient,
        "provision": {"type": "deny", "period": {"start": "2026-01-15"}},
    }


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    (folder / "Consent.ndjson").write_text(json.dumps(consent({"reference": "Patient/pat-2"})))
    return folder


@pytest.fixture
def hasher(tmp_path: Path) -> PatientRefHasher:
    settings = load_settings({"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path)})
    with open_event_store(settings.event_store_url) as store:
        return PatientRefHasher.from_settings(settings, store)


def test_a_consent_in_an_export_is_keyed_by_the_patients_mrn(
    export: Path, hasher: PatientRefHasher
) -> None:
    found = read_consents_in_export(export, mrn_hasher(hasher))

    (entry,) = found.entries
    assert entry.patient_ref == hasher.mrn_ref(MRN_OF_PAT_2)
    assert entry.patient_ref != hasher.mrn_ref("pat-2")  # what the id alone used to give


def test_a_consent_file_resolves_through_the_exports_patients_by_id_and_identifier(
    export: Path, tmp_path: Path, hasher: PatientRefHasher
) -> None:
    system = "https://ziekenhuis.example/fhir/NamingSystem/patientnummer"
    lines = [
        consent({"reference": "urn:uuid:pat-2"}, "c1"),
        consent({"identifier": {"system": system, "value": MRN_OF_PAT_2}}, "c2"),
        consent({"reference": "https://fhir.example/r4/Patient/pat-2/_history/3"}, "c3"),
    ]
    path = tmp_path / "consents.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    found = read_consent_ndjson(path, mrn_hasher(hasher), index=load_patient_index(export))

    assert {e.patient_ref for e in found.entries} == {hasher.mrn_ref(MRN_OF_PAT_2)}
    assert len(found.entries) == 3


def test_a_consent_on_a_patient_that_is_not_in_the_export_is_refused_with_its_location(
    export: Path, hasher: PatientRefHasher
) -> None:
    (export / "Consent.ndjson").write_text(json.dumps(consent({"reference": "Patient/nobody"})))

    with pytest.raises(OptOutSourceInvalid, match=r"Consent\.ndjson:1, patient\.reference"):
        read_consents_in_export(export, mrn_hasher(hasher))


def test_the_resolved_opt_out_removes_the_patients_records_before_pseudonymisation(
    export: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home).mkdir()
    (home / "optout-rules.yaml").write_text("effective_from: 2026-01-01\n")
    settings = load_settings({"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(home)})
    with open_event_store(settings.event_store_url) as store:
        hasher = PatientRefHasher.from_settings(settings, store)
    dsaa = load_catalogue(REPO / "schemas" / "catalogue").get("dica-dsaa")
    extracted = extract(dsaa, export, Period.parse("2026"))
    before = {n: d.identity.column("mrn").to_pylist() for n, d in extracted.datasets.items()}
    assert any(MRN_OF_PAT_2 in mrns for mrns in before.values())

    with open_event_store(settings.event_store_url) as store:
        outcome = record_optouts(store, read_consents_in_export(export, mrn_hasher(hasher)).entries)
        taken = datetime.now(UTC)  # the export was just taken: the register is current (0475)
        record_ingest(
            store,
            taken_at=taken,
            source="fhir-consent",
            entries=outcome.read,
            patients=outcome.patients,
        )
        filtered, excluded, _ = apply_optouts_to_extract(
            extracted, settings, store, date(2026, 12, 31), "run-1"
        )

    after = {n: d.identity.column("mrn").to_pylist() for n, d in filtered.datasets.items()}
    assert excluded == sum(mrns.count(MRN_OF_PAT_2) for mrns in before.values()) > 0
    assert all(MRN_OF_PAT_2 not in mrns for mrns in after.values())
    assert sum(map(len, after.values())) == sum(map(len, before.values())) - excluded


def test_reading_consents_keeps_only_patients_ids_and_identifiers_and_consents(
    export: Path, hasher: PatientRefHasher
) -> None:
    """A whole hospital export is read for its Consents: the straightforward version (every
    resource whole in one store) gives the same entries and the same patient index."""
    from aanlevering.extract.fhir_store import load_store
    from aanlevering.optout.sources.consent import CONSENT_EXPORT_TYPES, consent_entry
    from aanlevering.optout.sources.patient_index import index_of_store, index_projection

    patients = [{"reference": "Patient/pat-2"}, {"reference": "Patient/pat-1"}]
    (export / "Consent.ndjson").write_text(
        "\n".join(json.dumps(consent(p, f"c{n}")) for n, p in enumerate(patients))
    )
    whole = load_store(export)
    kept = load_store(export, project=index_projection, keep_types=CONSENT_EXPORT_TYPES)
    assert set(whole.by_type) > {"Patient", "Consent"}  # the fixture has clinical resources
    assert set(kept.by_type) == {"Patient", "Consent"}
    for located in kept.of_type("Patient"):
        assert set(located.resource) <= {"resourceType", "id", "identifier"}
    assert any("name" in located.resource for located in whole.of_type("Patient"))

    hash_mrn = mrn_hasher(hasher)
    index = index_of_store(whole)
    assert index.by_id and index.by_identifier
    assert index_of_store(kept) == index
    assert load_patient_index(export) == index
    expected = [
        consent_entry(located.resource, hash_mrn, frozenset(), index)
        for located in whole.of_type("Consent")
    ]
    assert len(expected) == 2
    assert list(read_consents_in_export(export, hash_mrn).entries) == expected
