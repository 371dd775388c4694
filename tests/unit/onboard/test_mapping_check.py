"""``registrations check`` catches each mapping mistake a new user makes, with the fix."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.cli.main import main

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    return target


def _check(
    catalogue: Path, registration: str, edit: Edit, capsys: pytest.CaptureFixture[str]
) -> str:
    file = catalogue / "registrations" / f"{registration}.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    edit(data)
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    code = main(["registrations", "--catalogue", str(catalogue), "check"])
    captured = capsys.readouterr()
    assert code == 2, captured.out
    assert f"{registration}.yaml" in captured.err
    return captured.err


def _fhir_vars(data: dict[str, Any], dataset: str) -> dict[str, Any]:
    return data["source"]["fhir"]["datasets"][dataset]["variables"]  # type: ignore[no-any-return]


def test_examples_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registrations", "--catalogue", str(CATALOGUE), "check"]) == 0
    assert "ok: 3 registration(s)" in capsys.readouterr().out


def test_indexer_outside_the_subset_is_caught_with_the_rewrite(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        _fhir_vars(data, "operatie")["techniek"]["element"] = "code.coding[0].code"

    err = _check(catalogue, "dica-dsaa", edit, capsys)
    assert "variables.techniek.element" in err
    assert "dataset operatie, variable techniek" in err
    assert "indexers like [0]" in err and "'code.coding.code'" in err


def test_link_typo_names_link_and_the_allowed_values(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        _fhir_vars(data, "operatie")["diameter_aneurysma"]["link"] = "part_of"

    err = _check(catalogue, "dica-dsaa", edit, capsys)
    assert "not valid under any of the given schemas" not in err
    assert "variables.diameter_aneurysma.link" in err
    assert "link 'part_of' is not allowed; use one of: subject, encounter, focus" in err


def test_link_the_related_resource_lacks_lists_the_ones_it_has(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        _fhir_vars(data, "operatie")["asa_klasse"]["link"] = "reasonReference"

    err = _check(catalogue, "dica-dsaa", edit, capsys)
    assert "variable asa_klasse: link 'reasonReference'" in err
    assert "Observation can link through subject, encounter, focus, partOf" in err


def test_whole_quantity_asks_for_value(catalogue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def edit(data: dict[str, Any]) -> None:
        _fhir_vars(data, "trauma")["systolische_bloeddruk"]["element"] = "valueQuantity"

    err = _check(catalogue, "ldtr", edit, capsys)
    assert "variable systolische_bloeddruk" in err
    assert "whole Quantity" in err and "'valueQuantity.value'" in err


def test_unknown_element_suggests_the_right_name(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        _fhir_vars(data, "tumor")["incidentiedatum"] = "onsetDatetime"

    err = _check(catalogue, "nkr-borst", edit, capsys)
    assert "Condition has no element 'onsetDatetime'; did you mean 'onsetDateTime'?" in err


def test_element_of_the_wrong_type_and_reference_without_resolve(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        variables = _fhir_vars(data, "trauma")
        variables["ic_opname"] = "period.start"
        variables["geslacht"]["element"] = "subject.gender"

    err = _check(catalogue, "ldtr", edit, capsys)
    assert "'period.start' is a FHIR dateTime, but the variable is of type boolean" in err
    assert "follow the reference first: '….resolve().gender'" in err


def test_map_and_where_problems_name_the_allowed_values(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        variables = _fhir_vars(data, "operatie")
        variables["techniek"]["map"]["AAA-EVAR"] = "ENDO"
        variables["bmi"]["where"]["element"] = "status"
        variables["bmi"]["resource"] = "Observatio"

    err = _check(catalogue, "dica-dsaa", edit, capsys)
    assert "map sends codes to 'ENDO', which the option set" in err
    assert "allowed: EVAR, OPEN" in err
    assert "'Observatio' is not a FHIR R4 resource type; did you mean Observation" in err

    def edit_where(data: dict[str, Any]) -> None:
        _fhir_vars(data, "operatie")["bmi"]["where"]["element"] = "status"

    shutil.rmtree(catalogue)
    shutil.copytree(CATALOGUE, catalogue)
    err = _check(catalogue, "dica-dsaa", edit_where, capsys)
    assert "where.element 'status' is a code; a code filter needs a CodeableConcept" in err
    assert "category, code" in err


def test_csv_target_typo_and_wrong_dataset(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        columns = data["source"]["csv"]["datasets"]["complicatie"]["columns"]
        columns["SOORT"] = "soort_complicatei"
        columns["ASA"] = "asa_klasse"
        data["source"]["csv"]["datasets"]["operatie"]["identity"]["BSN"] = "bsnn"

    err = _check(catalogue, "dica-dsaa", edit, capsys)
    assert "identity column BSN: BSN 'bsnn' is not allowed; use one of: patient_id, bsn" in err
    # Schema problems come first; once fixed, the mapping checks speak.
    fixed = catalogue / "registrations" / "dica-dsaa.yaml"
    fixed.write_text(fixed.read_text(encoding="utf-8").replace("bsnn", "bsn"), encoding="utf-8")
    assert main(["registrations", "--catalogue", str(catalogue), "check", "dica-dsaa"]) == 2
    err = capsys.readouterr().err
    assert "'soort_complicatei', which is not a variable of dataset complicatie; did" in err
    assert "'asa_klasse', which is not a variable of dataset complicatie; it is a" in err
    assert "dataset operatie: map it there" in err


def test_one_variable_from_two_columns_is_caught(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["source"]["csv"]["datasets"]["trauma"]["columns"]["ISS_2"] = "iss"

    err = _check(catalogue, "ldtr", edit, capsys)
    # Refused when the catalogue loads, so a run refuses it too (decision 0852).
    assert "dataset trauma: variable iss is mapped from 2 columns (ISS, ISS_2)" in err


def test_todo_markers_fail_the_check(catalogue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = catalogue / "registrations" / "ldtr.yaml"
    text = file.read_text(encoding="utf-8").replace(
        "AF: ademfrequentie", "AF: ademfrequentie  # TODO: guessed from the values"
    )
    file.write_text(text, encoding="utf-8")
    assert main(["registrations", "--catalogue", str(catalogue), "check", "ldtr"]) == 2
    err = capsys.readouterr().err
    assert "ldtr.yaml: line" in err
    assert "unresolved TODO at 'AF: ademfrequentie': guessed from the values" in err
    assert main(["registrations", "--catalogue", str(catalogue), "check", "nkr-borst"]) == 0
