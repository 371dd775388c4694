"""Exports without a record id: the key is digested from the columns that identify a record."""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.catalogue import RegistrationConfig, load_catalogue
from aanlevering.catalogue.model import CsvDatasetSource
from aanlevering.extract import extract
from aanlevering.periods import Period

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "unit" / "extract"))
from extract_fixtures import (  # noqa: E402
    DSAA_COMPLICATIE_COLUMNS,
    DSAA_OPERATIE_COLUMNS,
    PERSON_A,
    PERSON_B,
    PERSON_C,
    complicatie,
    operatie,
    write_csv,
)

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def dsaa() -> RegistrationConfig:
    return load_catalogue(REPO / "schemas" / "catalogue").get("dica-dsaa")


def _without_record_ids(config: RegistrationConfig) -> RegistrationConfig:
    """dsaa as a hospital without OK_ID / COMPLICATIE_ID would map it."""
    assert config.csv_source is not None
    old = config.csv_source.datasets
    op_columns = {c: v for c, v in old["operatie"].columns.items() if c != "OK_ID"}
    comp_columns = {
        c: v for c, v in old["complicatie"].columns.items() if c not in {"OK_ID", "COMPLICATIE_ID"}
    }
    datasets = {
        "operatie": replace(
            old["operatie"],
            columns=op_columns,
            record_keys={"operatie_id": ("PATIENTNUMMER", "OPERATIEDATUM")},
        ),
        "complicatie": CsvDatasetSource(
            file=old["complicatie"].file,
            columns=comp_columns,
            identity=old["complicatie"].identity,
            record_keys={
                "complicatie_id": ("PATIENTNUMMER", "DATUM", "SOORT"),
                "operatie_id": ("PATIENTNUMMER", "OK_DATUM"),
            },
        ),
    }
    return replace(config, csv_source=replace(config.csv_source, datasets=datasets))


def _export(folder: Path) -> Path:
    operaties = [
        operatie("", PERSON_A, "03-02-2026"),
        operatie("", PERSON_B, "2026-05-04"),
        operatie("", PERSON_C, "15-12-2025"),
    ]
    complicaties = [
        complicatie("", "", PERSON_A, "05-02-2026", OK_DATUM="03-02-2026"),
        complicatie("", "", PERSON_C, "20-12-2025", OK_DATUM="15-12-2025"),
        complicatie("", "", PERSON_B, "08-05-2026", OK_DATUM="2026-05-04", SOORT="PNEU"),
    ]
    op_columns = [c for c in DSAA_OPERATIE_COLUMNS if c != "OK_ID"]
    comp_columns = [c for c in DSAA_COMPLICATIE_COLUMNS if c not in {"OK_ID", "COMPLICATIE_ID"}]
    write_csv(folder / "dsaa_operaties_2026.csv", op_columns, operaties)
    write_csv(folder / "dsaa_complicaties_2026.csv", [*comp_columns, "OK_DATUM"], complicaties)
    return folder


def test_record_keys_are_digests_that_join_and_hold_no_patient_number(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    config = _without_record_ids(dsaa)
    result = extract(config, _export(tmp_path), Period.parse("2026"))
    operaties = result.datasets["operatie"].clinical.to_pylist()
    complicaties = result.datasets["complicatie"].clinical.to_pylist()
    keys = [row["operatie_id"] for row in operaties]
    assert len(keys) == 2 and len(set(keys)) == 2
    assert all(HEX32.match(k) for k in keys)
    # each complication finds its operation; the one of the 2025 operation is left out
    assert len(complicaties) == 2
    assert {row["operatie_id"] for row in complicaties} == set(keys)
    assert all(HEX32.match(row["complicatie_id"]) for row in complicaties)
    text = repr(operaties) + repr(complicaties)
    for person in (PERSON_A, PERSON_B, PERSON_C):
        assert person["PATIENTNUMMER"] not in text
    # the same record gets the same digest on every read (corrections supersede by key)
    again = extract(config, tmp_path, Period.parse("2026")).datasets["operatie"].clinical
    assert again.column("operatie_id").to_pylist() == keys


def test_record_keys_load_from_the_registration_file(tmp_path: Path) -> None:
    import shutil

    import yaml

    catalogue = tmp_path / "catalogue"
    shutil.copytree(REPO / "schemas" / "catalogue", catalogue)
    file = catalogue / "registrations" / "dica-dsaa.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    operatie_source = data["source"]["csv"]["datasets"]["operatie"]
    del operatie_source["columns"]["OK_ID"]
    operatie_source["record_keys"] = {"operatie_id": ["PATIENTNUMMER", "OPERATIEDATUM"]}
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    config = load_catalogue(catalogue).get("dica-dsaa")
    assert config.csv_source is not None
    source = config.csv_source.datasets["operatie"]
    assert source.record_keys == {"operatie_id": ("PATIENTNUMMER", "OPERATIEDATUM")}


def test_check_refuses_record_keys_on_other_variables_or_from_identity_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    import yaml

    from aanlevering.cli.main import main

    catalogue = tmp_path / "catalogue"
    shutil.copytree(REPO / "schemas" / "catalogue", catalogue)
    file = catalogue / "registrations" / "dica-dsaa.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    operatie_source = data["source"]["csv"]["datasets"]["operatie"]
    del operatie_source["columns"]["OK_ID"]
    operatie_source["record_keys"] = {"operatie_id": ["PATIENTNUMMER"], "bmi": ["BMI"]}
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["registrations", "--catalogue", str(catalogue), "check"]) == 2
    err = capsys.readouterr().err
    assert "variable bmi: record_keys make record keys; bmi is not a key or relation" in err
    assert "variable operatie_id: PATIENTNUMMER identify the person, not the record" in err
