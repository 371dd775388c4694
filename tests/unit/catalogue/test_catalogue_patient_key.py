"""Every CSV dataset maps the patient's number (``patient_id`` or ``mrn``) (0423).

Before, a dataset whose identity block forgot the patient number loaded and
passed ``registrations check`` (the pseudonym checks look at all datasets
together); the run then stopped at extract on the first period with data, as
bad input, although the fault was the configuration.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from aanlevering.catalogue.loader import load_registrations

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    return target


def _with_identity(catalogue: Path, identity: dict[str, str] | None) -> list[str]:
    file = catalogue / "registrations" / "dica-dsaa.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    dataset = data["source"]["csv"]["datasets"]["complicatie"]
    if identity is None:
        dataset.pop("identity")
    else:
        dataset["identity"] = identity
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    registrations, problems = load_registrations(catalogue)
    assert ("dica-dsaa" in registrations) == (not problems)
    return [str(p) for p in problems]


@pytest.mark.parametrize("identity", [None, {}, {"GEBOORTEDATUM": "birth_date"}])
def test_a_dataset_without_the_patient_number_is_refused(
    catalogue_copy: Path, identity: dict[str, str] | None
) -> None:
    problems = _with_identity(catalogue_copy, identity)
    assert any(
        "dica-dsaa.yaml: $.source.csv.datasets.complicatie.identity: " in p
        and "no column maps to patient_id or mrn" in p
        for p in problems
    ), problems


@pytest.mark.parametrize("field", ["patient_id", "mrn"])
def test_either_number_will_do(catalogue_copy: Path, field: str) -> None:
    assert _with_identity(catalogue_copy, {"PATIENTNUMMER": field}) == []
