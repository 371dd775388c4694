"""A registration that would deliver a patient's identity is refused when the catalogue loads.

Each scenario is a mapping a new user could plausibly write; each must be
refused with a message naming registration, dataset, variable and source.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.identity_guard import (
    fhir_identity_reason,
    source_id_reason,
    split_fhirpath,
)
from aanlevering.catalogue.loader import CatalogueInvalid

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    return target


def _refused(catalogue: Path, registration: str, change: Edit) -> list[str]:
    file = catalogue / "registrations" / f"{registration}.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    change(data)
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(catalogue)
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def _csv(data: dict[str, Any], dataset: str) -> dict[str, Any]:
    found: dict[str, Any] = data["source"]["csv"]["datasets"][dataset]
    return found


def _fhir(data: dict[str, Any], dataset: str) -> dict[str, Any]:
    found: dict[str, Any] = data["source"]["fhir"]["datasets"][dataset]["variables"]
    return found


def test_the_example_registrations_pass_the_guard() -> None:
    assert len(load_catalogue(CATALOGUE)) == 3


def test_patient_number_as_record_key_is_refused(catalogue_copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        columns = _csv(data, "operatie")["columns"]
        del columns["OK_ID"]
        columns["PATIENTNUMMER"] = "operatie_id"

    problems = _refused(catalogue_copy, "dica-dsaa", change)
    assert len(problems) == 1
    assert problems[0].startswith("$.source.csv.datasets.operatie.columns.PATIENTNUMMER: ")
    assert (
        "registration dica-dsaa, dataset operatie, variable operatie_id: source column "
        "PATIENTNUMMER is the identity field 'patient_id'" in problems[0]
    )


def test_bsn_onto_a_clinical_variable_is_refused(catalogue_copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        columns = _csv(data, "trauma")["columns"]
        del columns["MECHANISME"]
        columns["BSN"] = "mechanisme"

    (problem,) = _refused(catalogue_copy, "ldtr", change)
    assert "dataset trauma, variable mechanisme: source column BSN is the identity field 'bsn'" in (
        problem
    )


def test_identity_column_onto_a_generalised_variable_is_refused(catalogue_copy: Path) -> None:
    # Mapped directly, the full postcode would bypass the PC4 generalisation.
    def change(data: dict[str, Any]) -> None:
        _csv(data, "trauma")["columns"]["POSTCODE"] = "pc4_woonplaats"

    (problem,) = _refused(catalogue_copy, "ldtr", change)
    assert "variable pc4_woonplaats: source column POSTCODE is the identity field 'postcode'" in (
        problem
    )


def test_identity_header_not_listed_as_identity_is_refused(catalogue_copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        columns = _csv(data, "complicatie")["columns"]
        del columns["SOORT"]
        columns["Geboorte_datum"] = "soort_complicatie"

    (problem,) = _refused(catalogue_copy, "dica-dsaa", change)
    assert "dataset complicatie, variable soort_complicatie: source column Geboorte_datum" in (
        problem
    )
    assert "holds a birth date" in problem


@pytest.mark.parametrize(
    ("variable", "element", "reason"),
    [
        ("mechanisme", "subject.resolve().name.family", "Patient.name"),
        ("vervoer", "subject.resolve().telecom.where(system='phone').value", "Patient.telecom"),
        ("mechanisme", "patient.resolve().address.postalCode", "Patient.address"),
        ("vervoer", "subject.resolve().identifier.value", "Patient.identifier"),
        ("mechanisme", "subject.resolve().contact.name.family", "Patient.contact"),
        ("vervoer", "subject.resolve().photo.url", "Patient.photo"),
        ("mechanisme", "subject.reference", "the reference of the reference to the Patient"),
        ("vervoer", "subject.display", "the display of the reference to the Patient"),
        ("mechanisme", "subject.identifier.value", "the identifier of the reference"),
        (
            "mechanisme",
            "encounter.resolve().subject.resolve().birthDate",
            "Patient.birthDate",
        ),
    ],
)
def test_fhir_paths_through_resolve_into_patient_identity_are_refused(
    catalogue_copy: Path, variable: str, element: str, reason: str
) -> None:
    def change(data: dict[str, Any]) -> None:
        _fhir(data, "trauma")[variable] = element

    (problem,) = _refused(catalogue_copy, "ldtr", change)
    assert problem.startswith(f"$.source.fhir.datasets.trauma.variables.{variable}: ")
    assert f"registration ldtr, dataset trauma, variable {variable}: source {element!r}" in problem
    assert reason in problem


def test_fhir_dataset_on_patient_may_not_read_its_id_name_or_telecom(
    catalogue_copy: Path,
) -> None:
    def change(data: dict[str, Any]) -> None:
        dataset = data["source"]["fhir"]["datasets"]["trauma"]
        dataset["resource"] = "Patient"
        dataset.pop("where")
        dataset["variables"]["trauma_id"] = "id"
        dataset["variables"]["mechanisme"] = "name.family"
        dataset["variables"]["vervoer"] = "telecom.value"

    problems = _refused(catalogue_copy, "ldtr", change)
    assert len(problems) == 3
    joined = "\n".join(problems)
    for variable, reason in (
        ("trauma_id", "Patient.id"),
        ("mechanisme", "Patient.name"),
        ("vervoer", "Patient.telecom"),
    ):
        assert f"variable {variable}: source" in joined
        assert f"it reads {reason}" in joined


def test_related_patient_resource_is_patient_identity(catalogue_copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        _fhir(data, "trauma")["mechanisme"] = {
            "resource": "Patient",
            "link": "subject",
            "element": "address.postalCode",
        }

    (problem,) = _refused(catalogue_copy, "ldtr", change)
    assert "on Patient is patient identity: it reads Patient.address" in problem


def test_mapped_birth_date_onto_the_birth_year_says_to_leave_it_unmapped(
    catalogue_copy: Path,
) -> None:
    def change(data: dict[str, Any]) -> None:
        _fhir(data, "trauma")["geboortejaar"] = "subject.resolve().birthDate"

    (problem,) = _refused(catalogue_copy, "ldtr", change)
    assert "geboortejaar is generalised from birth_date:year: leave it unmapped" in problem


def test_allowed_paths_pass() -> None:
    for element in (
        "subject.resolve().gender",
        "subject.resolve().deceasedDateTime",
        "extension('https://x.example/a.b').valueReference.resolve().id",
        "id",
        "encounter.resolve().period.start",
    ):
        assert fhir_identity_reason("Procedure", element) is None, element


def test_fhirpath_steps_keep_dots_inside_quotes_and_calls() -> None:
    assert split_fhirpath("extension('https://a.b/c').where(x='1.2').valueCode") == [
        "extension('https://a.b/c')",
        "where(x='1.2')",
        "valueCode",
    ]


def test_registrations_check_exits_2_naming_the_source(catalogue_copy: Path) -> None:
    file = catalogue_copy / "registrations" / "ldtr.yaml"
    file.write_text(
        file.read_text(encoding="utf-8").replace(
            "mechanisme: \"extension('https://aanlevering.example/fhir/StructureDefinition/"
            "ongevalsmechanisme').valueCode\"",
            "mechanisme: subject.resolve().name.family",
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "aanlevering.cli.main", "registrations"]
    result = subprocess.run(
        [*command, "--catalogue", str(catalogue_copy), "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "ldtr.yaml: $.source.fhir.datasets.trauma.variables.mechanisme" in result.stderr
    assert "'subject.resolve().name.family' on Encounter is patient identity" in result.stderr


def test_record_keys_must_be_text_long_enough_for_the_hash(catalogue_copy: Path) -> None:
    file = catalogue_copy / "dictionaries" / "dsaa" / "2026.1.yaml"
    text = file.read_text(encoding="utf-8")
    text = text.replace(
        "{name: complicatie_id, type: string, max_length: 64,",
        "{name: complicatie_id, type: integer,",
    ).replace(
        "{name: operatie_id, type: string, max_length: 64, required_for",
        "{name: operatie_id, type: string, max_length: 20, required_for",
    )
    file.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(catalogue_copy)
    messages = "\n".join(p.message for p in caught.value.problems)
    assert "variable complicatie_id: a record key is delivered as a keyed hash" in messages
    assert "must be of type string, not integer" in messages
    assert (
        "variable operatie_id: a record key is delivered as a keyed hash of 32 hex digits, "
        "longer than its max_length 20" in messages
    )


@pytest.mark.parametrize(
    ("variable", "element", "reason"),
    [
        ("mechanisme", "encounter.reference", "a reference (a source resource id)"),
        ("vervoer", "encounter.resolve().id", "a source resource id"),
        ("mechanisme", "identifier.where(system='https://x.example/vn').value", "identifier"),
        ("vervoer", "encounter.resolve().identifier.value", "a source identifier"),
    ],
)
def test_fhir_source_ids_onto_a_clinical_variable_are_refused(
    catalogue_copy: Path, variable: str, element: str, reason: str
) -> None:
    def change(data: dict[str, Any]) -> None:
        _fhir(data, "trauma")[variable] = element

    (problem,) = _refused(catalogue_copy, "ldtr", change)
    assert problem.startswith(f"$.source.fhir.datasets.trauma.variables.{variable}: ")
    assert f"variable {variable}: source {element!r} on " in problem
    assert "would deliver a source id as written" in problem
    assert reason in problem


def test_key_and_relation_variables_may_read_source_ids(catalogue_copy: Path) -> None:
    """They go out as keyed hashes (decision 0181), so the guard lets them read ids."""
    file = catalogue_copy / "registrations" / "dica-dsaa.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    datasets = data["source"]["fhir"]["datasets"]
    assert datasets["operatie"]["variables"]["operatie_id"] == "id"  # the key
    datasets["complicatie"]["variables"]["operatie_id"] = (  # the relation
        "extension('https://aanlevering.example/fhir/StructureDefinition/na-verrichting')"
        ".valueReference.reference"
    )
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert "dica-dsaa" in load_catalogue(catalogue_copy).registrations


def test_source_id_reason_names_the_step() -> None:
    assert source_id_reason("encounter.resolve().period.start") is None
    assert source_id_reason("extension('https://x.example/id').valueCode") is None
    assert source_id_reason("valueReference.reference") == (
        "it reads a reference (a source resource id) (at valueReference.reference)"
    )
    assert source_id_reason("encounter.resolve().id") == (
        "it reads a source resource id (at encounter.resolve().id)"
    )
