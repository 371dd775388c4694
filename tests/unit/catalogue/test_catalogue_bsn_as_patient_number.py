"""A config that names the BSN as the hospital's patient number is refused at load (0760).

0641 finds BSNs among the patient numbers in the data, from ten on; a
registration whose config says it outright (a column called BSN mapped to
``patient_id`` or ``mrn``, ``mrn_system`` the BSN's system) is refused before
any data is read, whatever the size of the export.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.catalogue.loader import load_registrations

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"


def _problems(tmp_path: Path, change: Any) -> str:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    file = catalogue / "registrations" / "dica-dsaa.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    change(data)
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    registrations, problems = load_registrations(catalogue)
    text = "\n".join(str(p) for p in problems)
    assert ("dica-dsaa" in registrations) == (not problems), text
    return text


def _identity(data: dict[str, Any]) -> dict[str, str]:
    identity: dict[str, str] = data["source"]["csv"]["datasets"]["operatie"]["identity"]
    return identity


@pytest.mark.parametrize("column", ["BSN", "bsn", "Burgerservicenummer", "patient_bsn"])
@pytest.mark.parametrize("role", ["mrn", "patient_id"])
def test_a_bsn_column_mapped_as_the_patient_number_is_refused(
    tmp_path: Path, column: str, role: str
) -> None:
    def change(data: dict[str, Any]) -> None:
        identity = _identity(data)
        del identity["BSN"]
        if role == "patient_id":
            del identity["PATIENTNUMMER"]
        identity[column] = role

    problems = _problems(tmp_path, change)
    assert f"identity.{column}: maps the column {column} to {role}" in problems
    assert "the BSN is never a patient number" in problems


@pytest.mark.parametrize(
    "system",
    [
        "http://fhir.nl/fhir/NamingSystem/bsn",
        "http://fhir.nl/fhir/NamingSystem/BSN/",
        "urn:oid:2.16.840.1.113883.2.4.6.3",
    ],
)
def test_the_bsn_system_as_mrn_system_is_refused(tmp_path: Path, system: str) -> None:
    problems = _problems(tmp_path, lambda data: data["source"]["fhir"].update(mrn_system=system))
    assert f"$.source.fhir.mrn_system: {system} is the BSN's identifier system" in problems


def test_the_shipped_mapping_and_a_hospital_system_load(tmp_path: Path) -> None:
    hospital = "https://ehr.hospital.example/fhir/NamingSystem/patientnummer"
    assert _problems(tmp_path, lambda d: d["source"]["fhir"].update(mrn_system=hospital)) == ""
