"""Identity named as such is refused wherever a registration puts it on a delivered variable.

A hospital engineer maps what the export calls the column; a careless or
hostile dictionary calls its variable ``bsn``. Decisions 1080 (the
dictionary's variable names) and 1081 (the English and abbreviated headers
the onboarding already treats as identity).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.identity_guard import IDENTITY_HEADERS
from aanlevering.catalogue.loader import CatalogueInvalid, load_registration
from aanlevering.onboard.csv_match import IDENTITY_HEADERS as ONBOARD_IDENTITY_HEADERS

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
CHECK = [sys.executable, "-m", "aanlevering.cli.main", "registrations"]
RUN = [sys.executable, "-m", "aanlevering.cli.main", "run", "--registration", "dica-dsaa"]


@pytest.fixture
def catalogue(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    yield target


def _edit(file: Path, change: Any) -> None:
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    change(data)
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _problems(catalogue: Path) -> list[str]:
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(catalogue)
    return [f"{p.file}: {p.path}: {p.message}" for p in caught.value.problems]


def _add_dictionary_variable(catalogue: Path, variable: dict[str, Any]) -> int:
    """Add ``variable`` to dsaa's operatie dataset; its index there."""
    index: list[int] = []

    def change(data: dict[str, Any]) -> None:
        variables = data["datasets"][0]["variables"]
        variables.append(variable)
        index.append(len(variables) - 1)

    _edit(catalogue / "dictionaries" / "dsaa" / "2026.1.yaml", change)
    return index[0]


def _map(catalogue: Path, column: str, variable: str, fhir_path: str | None) -> None:
    def change(data: dict[str, Any]) -> None:
        data["source"]["csv"]["datasets"]["operatie"]["columns"][column] = variable
        if fhir_path is not None:
            data["source"]["fhir"]["datasets"]["operatie"]["variables"][variable] = fhir_path

    _edit(catalogue / "registrations" / "dica-dsaa.yaml", change)


@pytest.mark.parametrize(
    ("variable", "meaning"),
    [
        ("bsn", "a BSN"),
        ("geboortedatum", "a birth date"),
        ("patient_id", "a patient number (MRN)"),
        ("achternaam", "a name"),
        ("postcode", "an address"),
        ("email", "contact details"),
        ("date_of_birth", "a birth date"),
    ],
)
def test_a_dictionary_variable_named_for_identity_is_refused(
    catalogue: Path, variable: str, meaning: str
) -> None:
    index = _add_dictionary_variable(catalogue, {"name": variable, "type": "string"})
    # A neutral column and a neutral FHIR path: nothing in the source says identity.
    _map(catalogue, "NR_X", variable, "code.text")
    problems = _problems(catalogue)
    assert problems == [
        f"{catalogue / 'registrations' / 'dica-dsaa.yaml'}: "
        f"$.dictionary(dsaa 2026.1).datasets[0].variables[{index}].name: "
        f"registration dica-dsaa, dataset operatie, variable {variable}: the dictionary's "
        f"variable is named for {meaning}, an identity field that is never delivered as "
        "written, whatever column or path fills it; deliver it as a pseudonym "
        "(pseudonymisation.types) or as a generalisation (generalised_from: birth_date:year, "
        "postcode:pc4), or rename it if it holds something else"
    ]


def test_a_generalised_variable_may_carry_an_identity_name(catalogue: Path) -> None:
    """``postcode`` generalised to PC4 is the declared generalisation, not the postcode."""
    _add_dictionary_variable(
        catalogue,
        {"name": "postcode", "type": "string", "generalised_from": "postcode:pc4"},
    )
    assert load_catalogue(catalogue).get("dica-dsaa").id == "dica-dsaa"


def test_the_run_start_refuses_it_too(catalogue: Path) -> None:
    """A run loads its own registration: the same refusal, before any data is read."""
    index = _add_dictionary_variable(catalogue, {"name": "bsn", "type": "string"})
    _map(catalogue, "NR_X", "bsn", "code.text")
    with pytest.raises(CatalogueInvalid) as caught:
        load_registration(catalogue, "dica-dsaa")
    assert [p.path for p in caught.value.problems] == [
        f"$.dictionary(dsaa 2026.1).datasets[0].variables[{index}].name"
    ]


def test_registrations_check_exits_2_naming_file_and_path(catalogue: Path) -> None:
    index = _add_dictionary_variable(catalogue, {"name": "geboortedatum", "type": "date"})
    _map(catalogue, "GEB_DT", "geboortedatum", "code.text")
    result = subprocess.run(
        [*CHECK, "--catalogue", str(catalogue), "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert (
        f"dica-dsaa.yaml: $.dictionary(dsaa 2026.1).datasets[0].variables[{index}].name: "
        "registration dica-dsaa, dataset operatie, variable geboortedatum: the dictionary's "
        "variable is named for a birth date"
    ) in result.stderr


@pytest.mark.parametrize(
    ("column", "meaning"),
    [
        ("DOB", "a birth date"),
        ("Birth_Date", "a birth date"),
        ("GEBOORTEDAT", "a birth date"),
        ("PATIENT_ID", "a patient number (MRN)"),
        ("PAT_MRN_ID", "a patient number (MRN)"),
        ("Last Name", "a name"),
        ("GEBOORTENAAM", "a name"),
        ("ZIPCODE", "an address"),
        ("PC6", "an address"),
        ("HUISNR", "an address"),
        ("TELNR", "contact details"),
        ("Phone", "contact details"),
    ],
)
def test_an_english_or_abbreviated_identity_header_onto_a_clinical_variable_is_refused(
    catalogue: Path, column: str, meaning: str
) -> None:
    def change(data: dict[str, Any]) -> None:
        columns = data["source"]["csv"]["datasets"]["operatie"]["columns"]
        del columns["KREATININE"]
        columns[column] = "creatinine_preop"

    _edit(catalogue / "registrations" / "dica-dsaa.yaml", change)
    problems = _problems(catalogue)
    assert len(problems) == 1
    assert f"$.source.csv.datasets.operatie.columns.{column}: " in problems[0]
    assert f"source column {column} holds {meaning}, which is never delivered" in problems[0]


def test_every_header_the_onboarding_takes_for_identity_is_identity_to_the_guard() -> None:
    """What ``onboard`` proposes under identity may not pass as a clinical column."""
    missing = sorted(
        header
        for header, field in ONBOARD_IDENTITY_HEADERS.items()
        if field != "sex" and header not in IDENTITY_HEADERS
    )
    assert missing == []


@pytest.mark.parametrize("column", ["BSN_MOEDER", "Partner-BSN", "burgerservicenummer_kind"])
def test_a_header_with_bsn_in_it_onto_a_clinical_variable_is_refused(
    catalogue: Path, column: str
) -> None:
    """Decision 1084: the BSN of a mother or partner is a BSN too."""

    def change(data: dict[str, Any]) -> None:
        columns = data["source"]["csv"]["datasets"]["operatie"]["columns"]
        del columns["KREATININE"]
        columns[column] = "creatinine_preop"

    _edit(catalogue / "registrations" / "dica-dsaa.yaml", change)
    problems = _problems(catalogue)
    assert len(problems) == 1
    assert f"$.source.csv.datasets.operatie.columns.{column}: " in problems[0]
    assert f"source column {column} holds a BSN, which is never delivered" in problems[0]


def test_a_dictionary_variable_with_bsn_in_its_name_is_refused(catalogue: Path) -> None:
    index = _add_dictionary_variable(catalogue, {"name": "bsn_moeder", "type": "string"})
    _map(catalogue, "NR_M", "bsn_moeder", "code.text")
    [problem] = _problems(catalogue)
    assert f"$.dictionary(dsaa 2026.1).datasets[0].variables[{index}].name: " in problem
    assert "variable bsn_moeder: the dictionary's variable is named for a BSN" in problem


@pytest.mark.parametrize(
    ("identity", "key_columns"),
    [
        ({"BSN": "bsn"}, ["BSN", "OPERATIEDATUM"]),
        ({"NUMMER_X": "bsn"}, ["NUMMER_X"]),  # the identity mapping says it is the BSN
    ],
)
def test_a_record_key_made_from_the_bsn_is_refused(
    catalogue: Path, identity: dict[str, str], key_columns: list[str]
) -> None:
    def change(data: dict[str, Any]) -> None:
        operatie = data["source"]["csv"]["datasets"]["operatie"]
        del operatie["columns"]["OK_ID"]
        del operatie["identity"]["BSN"]
        operatie["identity"].update(identity)
        operatie["record_keys"] = {"operatie_id": key_columns}

    _edit(catalogue / "registrations" / "dica-dsaa.yaml", change)
    problems = _problems(catalogue)
    assert len(problems) == 1, problems
    assert "$.source.csv.datasets.operatie.record_keys.operatie_id: " in problems[0]
    assert (
        f"variable operatie_id: record key column {key_columns[0]} holds the BSN, which is "
        "read only for the B pseudonym"
    ) in problems[0]


def test_a_record_key_from_the_patient_number_and_a_date_loads(catalogue: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        operatie = data["source"]["csv"]["datasets"]["operatie"]
        del operatie["columns"]["OK_ID"]
        operatie["record_keys"] = {"operatie_id": ["PATIENTNUMMER", "OPERATIEDATUM"]}

    _edit(catalogue / "registrations" / "dica-dsaa.yaml", change)
    assert load_catalogue(catalogue).get("dica-dsaa").id == "dica-dsaa"


def test_an_identity_column_of_one_dataset_onto_a_variable_of_another_is_refused(
    catalogue: Path,
) -> None:
    """Decision 1085: ``GD`` is the birth date under operatie, so it is under complicatie."""

    def change(data: dict[str, Any]) -> None:
        datasets = data["source"]["csv"]["datasets"]
        identity = datasets["operatie"]["identity"]
        del identity["GEBOORTEDATUM"]
        identity["GD"] = "birth_date"
        columns = datasets["complicatie"]["columns"]
        del columns["DATUM"]
        columns["GD"] = "datum_complicatie"

    _edit(catalogue / "registrations" / "dica-dsaa.yaml", change)
    problems = _problems(catalogue)
    assert len(problems) == 1, problems
    assert problems[0].endswith(
        "$.source.csv.datasets.complicatie.columns.GD: registration dica-dsaa, dataset "
        "complicatie, variable datum_complicatie: source column GD is the identity field "
        "'birth_date' of dataset operatie; identity columns are never delivered, in no "
        "dataset (if this export's column of that name holds something else, rename it in "
        "the export)"
    )


def test_sex_of_one_dataset_may_be_a_variable_of_another(catalogue: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        datasets = data["source"]["csv"]["datasets"]
        datasets["complicatie"]["identity"]["SEKS"] = "sex"
        del datasets["operatie"]["identity"]["GESLACHT"]
        del datasets["operatie"]["columns"]["GESLACHT"]
        datasets["operatie"]["columns"]["SEKS"] = "geslacht"  # not identity in operatie

    _edit(catalogue / "registrations" / "dica-dsaa.yaml", change)
    assert load_catalogue(catalogue).get("dica-dsaa").id == "dica-dsaa"


def test_aanlevering_run_stops_before_reading_the_export(catalogue: Path, tmp_path: Path) -> None:
    """``aanlevering run`` exits 2 naming the place; no patient value is read or written."""
    index = _add_dictionary_variable(catalogue, {"name": "bsn", "type": "string"})
    _map(catalogue, "NR_X", "bsn", "code.text")
    export = tmp_path / "ehr"
    export.mkdir()
    (export / "dsaa_operaties_2026.csv").write_text(
        "PATIENTNUMMER;NR_X;GESLACHTSNAAM;GEBOORTEDATUM\nP123;111222333;Jansen;03-04-1951\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    env = {**os.environ, "AANLEVERING_HOME": str(home), "AANLEVERING_DEMO_MODE": "yes"}
    result = subprocess.run(
        [*RUN, "--input", str(export), "--period", "2026-Q1", "--catalogue", str(catalogue)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 2, result.stderr
    assert f"$.dictionary(dsaa 2026.1).datasets[0].variables[{index}].name" in result.stderr
    for value in ("111222333", "Jansen", "03-04-1951", "P123"):
        assert value not in result.stdout + result.stderr
    assert not (home / "events.sqlite3").exists()
