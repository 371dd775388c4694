"""Export folders with files of one's own still run; the MRN comes from the configured system."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.catalogue import RegistrationConfig, load_catalogue
from aanlevering.catalogue.loader import build_registration
from aanlevering.extract import detect_source_kind, extract
from aanlevering.periods import Period

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"
YEAR = Period.parse("2026")
OWN_SYSTEM = "https://ziekenhuis.example/fhir/NamingSystem/zis-nummer"


@pytest.fixture(scope="module")
def dsaa() -> RegistrationConfig:
    return load_catalogue(REPO / "schemas" / "catalogue").get("dica-dsaa")


def _rows(config: RegistrationConfig, folder: Path) -> dict[str, list[dict[str, object]]]:
    result = extract(config, folder, YEAR)
    return {name: data.clinical.to_pylist() for name, data in result.datasets.items()}


def test_an_export_folder_with_other_json_files_runs_and_names_them(
    tmp_path: Path, dsaa: RegistrationConfig, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    (folder / "manifest.json").write_text(
        json.dumps({"exported_by": "HiX", "files": 5}), encoding="utf-8"
    )
    (folder / "notes.json").write_text(json.dumps(["checked by M."]), encoding="utf-8")
    (folder / "README.txt").write_text("export of June\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="aanlevering.extract"):
        got = _rows(dsaa, folder)
    assert got == _rows(dsaa, NL)
    assert got["operatie"], "the export has operations"
    lines = [r.getMessage() for r in caplog.records if "not FHIR resources or Bundles" in r.message]
    assert len(lines) == 1
    assert "manifest.json" in lines[0] and "notes.json" in lines[0]


def test_a_single_resource_json_file_is_read_as_a_resource(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    patients = (folder / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    (folder / "Patient.ndjson").write_text("\n".join(patients[1:]) + "\n", encoding="utf-8")
    (folder / "first-patient.json").write_text(patients[0], encoding="utf-8")
    assert _rows(dsaa, folder) == _rows(dsaa, NL)


def test_a_folder_of_only_other_json_names_the_files(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    with pytest.raises(Exception, match=r"no FHIR input .*notes\.json hold no FHIR"):
        extract(dsaa, tmp_path, YEAR)


def test_notes_next_to_a_csv_export_do_not_make_it_fhir(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    (tmp_path / "dsaa_operaties_2026.csv").write_text("OK_ID\n", encoding="utf-8")
    (tmp_path / "notes.json").write_text('{"by": "M."}', encoding="utf-8")
    assert detect_source_kind(dsaa, tmp_path) == "csv"
    (tmp_path / "bundle.json").write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection"}), encoding="utf-8"
    )
    with pytest.raises(Exception, match="holds both CSV"):
        detect_source_kind(dsaa, tmp_path)


def _with_own_numbers(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    patients = [
        json.loads(line)
        for line in (folder / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    ]
    patients[0]["identifier"].append({"system": OWN_SYSTEM, "value": "ZIS-1"})
    text = "".join(json.dumps(p) + "\n" for p in patients)
    (folder / "Patient.ndjson").write_text(text, encoding="utf-8")
    return folder


def test_source_fhir_mrn_system_selects_the_mrn_and_mr_type_stays_the_fallback(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _with_own_numbers(tmp_path)
    assert dsaa.fhir_source is not None
    configured = replace(dsaa, fhir_source=replace(dsaa.fhir_source, mrn_system=OWN_SYSTEM))
    by_id = {
        row["patient_id"]: row["mrn"]
        for data in extract(configured, folder, YEAR).datasets.values()
        for row in data.identity.select(["patient_id", "mrn"]).to_pylist()
    }
    assert by_id["pat-1"] == "ZIS-1"  # the configured system
    # neither the configured system nor an MR type: no guessing once a system is configured
    assert by_id["pat-2"] is None
    unconfigured = {
        row["patient_id"]: row["mrn"]
        for data in extract(dsaa, folder, YEAR).datasets.values()
        for row in data.identity.select(["patient_id", "mrn"]).to_pylist()
    }
    assert unconfigured["pat-1"] == "ZH-0042"  # typed MR
    assert unconfigured["pat-2"] == "ZH-0077"  # unconfigured: the first hospital number


def test_mrn_system_is_read_from_the_registration_file(dsaa: RegistrationConfig) -> None:
    import yaml

    raw = yaml.safe_load(Path(dsaa.source_file).read_text(encoding="utf-8"))
    raw["source"]["fhir"]["mrn_system"] = OWN_SYSTEM
    config = build_registration(json.loads(json.dumps(raw, default=str)), dsaa.dictionary)
    assert config.fhir_source is not None and config.fhir_source.mrn_system == OWN_SYSTEM


def test_a_relative_report_dir_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GX's Data Docs refuse a relative folder; `validate --report-dir reports/x` must work."""
    from aanlevering.cli.validate import _report_dir

    monkeypatch.chdir(tmp_path)
    assert _report_dir(Path("reports/x")) == tmp_path / "reports" / "x"


def test_a_csv_column_mapped_to_mrn_is_the_mrn(tmp_path: Path, dsaa: RegistrationConfig) -> None:
    """A CSV export whose hospital number is not its patient id maps that column to ``mrn``."""
    import csv
    import sys

    sys.path.insert(0, str(REPO / "tests" / "unit" / "extract"))
    from extract_fixtures import dsaa_export

    folder = dsaa_export(tmp_path / "export")
    path = next(folder.glob("dsaa_operaties*.csv"))
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    for number, row in enumerate(rows):
        row["ZIS_NUMMER"] = f"ZIS-{number}"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    assert dsaa.csv_source is not None
    operatie = dsaa.csv_source.datasets["operatie"]
    sources = dict(dsaa.csv_source.datasets)
    sources["operatie"] = replace(operatie, identity={**operatie.identity, "ZIS_NUMMER": "mrn"})
    config = replace(dsaa, csv_source=replace(dsaa.csv_source, datasets=sources))
    identity = extract(config, folder, YEAR).datasets["operatie"].identity.to_pylist()
    assert identity and all(row["mrn"].startswith("ZIS-") for row in identity)
    assert all(row["patient_id"].startswith("ZH-") for row in identity)
