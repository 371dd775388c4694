"""One patient key: the hospital patient number, for opt-outs and failure references alike."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from aanlevering.catalogue import Catalogue
from aanlevering.errors import ExtractError
from aanlevering.events.sqlite import SqliteEventStore
from aanlevering.extract import extract
from aanlevering.extract.patient_key import patient_numbers
from aanlevering.periods import Period
from aanlevering.pipeline.operations import identity_for_pseudonymisation
from aanlevering.pseudonym.patient_ref import PatientRefHasher
from aanlevering.pseudonym.service import pseudonymise
from aanlevering.pseudonym.source_step import MrnKey, SourceKey
from aanlevering.pseudonym.ttp.client import TTPClient

NL = Path(__file__).resolve().parents[2] / "fixtures" / "extract" / "fhir-nl"
YEAR = Period.parse("2026")
BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"


def _export(tmp_path: Path, keep_mrn: set[str]) -> Path:
    """The fixture export; Patients not in ``keep_mrn`` lose every identifier but the BSN."""
    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    patients = [json.loads(line) for line in (NL / "Patient.ndjson").read_text().splitlines()]
    for patient in patients:
        if patient["id"] not in keep_mrn:
            patient["identifier"] = [i for i in patient["identifier"] if i["system"] == BSN_SYSTEM]
    (folder / "Patient.ndjson").write_text("".join(json.dumps(p) + "\n" for p in patients))
    return folder


def test_one_patient_without_an_mrn_among_others_is_named_by_file_and_line(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    extracted = extract(catalogue.get("dica-dsaa"), _export(tmp_path, {"pat-1"}), YEAR)
    dataset = extracted.datasets["operatie"]

    with pytest.raises(ExtractError) as refused:
        patient_numbers(dataset, "fhir")

    message = str(refused.value)
    assert "Procedure.ndjson:" in message and "its Patient has no MRN identifier" in message
    assert "rows " not in message and "pat-2" not in message


def test_without_any_mrn_the_patient_id_is_the_number_and_a_log_line_says_so(
    tmp_path: Path, catalogue: Catalogue, caplog: pytest.LogCaptureFixture
) -> None:
    extracted = extract(catalogue.get("dica-dsaa"), _export(tmp_path, set()), YEAR)
    dataset = extracted.datasets["operatie"]

    with caplog.at_level(logging.WARNING):
        numbers = patient_numbers(dataset, "fhir")

    assert numbers.to_pylist() == dataset.identity.column("patient_id").to_pylist()
    assert "Patient.id is used as the hospital patient number" in caplog.text


def test_failure_references_are_the_hash_of_the_mrn_not_of_the_fhir_id(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    patients = [json.loads(line) for line in (NL / "Patient.ndjson").read_text().splitlines()]
    for patient in patients:
        patient["address"] = []  # no postcode: type C fails for everyone
    (folder / "Patient.ndjson").write_text("".join(json.dumps(p) + "\n" for p in patients))
    config = catalogue.get("nkr-borst")  # local mode: the TTP is not called
    extracted = extract(config, folder, YEAR)
    hasher = PatientRefHasher(bytes(range(32)))

    outcome = pseudonymise(
        config,
        "2026",
        identity_for_pseudonymisation(extracted),
        client=TTPClient("http://127.0.0.1:9", "unused"),
        source_key=SourceKey("nkr-borst", 1, bytes(range(64))),
        mrn_key=MrnKey(1, bytes(64)),
        patient_ref=hasher.mrn_ref,
        store=SqliteEventStore(tmp_path / "events.sqlite"),
        run_id="failure-refs",
    )

    failed = {f.patient_ref for f in outcome.event.failures if f.type == "C"}
    mrns = set(extracted.datasets["tumor"].identity.column("mrn").to_pylist())
    assert failed == {hasher.mrn_ref(mrn) for mrn in mrns} and failed
    ids = extracted.datasets["tumor"].identity.column("patient_id").to_pylist()
    assert not failed & {hasher.mrn_ref(i) for i in ids}


def test_the_failures_command_lists_the_failing_patients_by_patient_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aanlevering.cli.main import main

    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    patients = [json.loads(line) for line in (NL / "Patient.ndjson").read_text().splitlines()]
    patients[1]["address"] = []  # pat-2 (MRN ZH-0077) has no postcode: C fails
    (folder / "Patient.ndjson").write_text("".join(json.dumps(p) + "\n" for p in patients))
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))

    code = main(["failures", "--registration", "ldtr", "--period", "2026",
                 "--input", str(folder)])  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 patient(s) without every pseudonym" in out
    rows = [line.split("\t") for line in out.splitlines()[2:]]
    assert [row[:3] for row in rows] == [["ZH-0077", "C", "postcode"]]
    assert rows[0][4].startswith("Encounter.ndjson:")

    # Without --input: the export the scheduled runs read (here AANLEVERING_INPUT__LDTR).
    monkeypatch.setenv("AANLEVERING_INPUT__LDTR", str(folder))
    assert main(["failures", "--registration", "ldtr", "--period", "2026"]) == 0
    scheduled = capsys.readouterr().out
    assert f"input: {folder}" in scheduled
    assert scheduled.splitlines()[1:] == out.splitlines()


def test_a_patient_number_that_is_no_mrn_is_named_by_file_and_line() -> None:
    import pyarrow as pa

    from aanlevering.optout.filter import patient_refs_for_mrns

    hasher = PatientRefHasher(bytes(range(32)))
    refs = pa.array(["a.csv:2", "a.csv:3", "a.csv:5"])
    with pytest.raises(ExtractError, match=r"dataset x: 1 row\(s\) .*checked: a\.csv:3$"):
        patient_refs_for_mrns(["ZH-1", "ZH 1$", "ZH-2"], hasher, "dataset x", row_refs=refs)
