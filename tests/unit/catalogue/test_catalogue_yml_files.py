"""A registration saved as ``.yml`` is reported, not silently left out (0426).

The loader and the DAG listing read ``registrations/*.yaml`` only; a file
named ``nieuw.yml`` (or ``NIEUW.YAML``) loaded nothing, raised nothing, and
the registration was simply never delivered.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aanlevering.airflow.listing import read_registrations
from aanlevering.catalogue.loader import load_registrations

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    return target


@pytest.mark.parametrize("name", ["ldtr-kopie.yml", "LDTR2.YAML"])
def test_a_registration_with_another_extension_is_a_problem(
    catalogue_copy: Path, name: str
) -> None:
    shutil.copy(
        catalogue_copy / "registrations" / "ldtr.yaml", catalogue_copy / "registrations" / name
    )
    registrations, problems = load_registrations(catalogue_copy)
    assert set(registrations) == {"dica-dsaa", "ldtr", "nkr-borst"}
    assert [str(p).split("/registrations/")[1] for p in problems] == [
        f"{name}: $: only files named <id>.yaml are read; rename it to end in .yaml"
    ]
    listings, broken = read_registrations(catalogue_copy)
    assert {r.id for r in listings} == {"dica-dsaa", "ldtr", "nkr-borst"}
    assert [b.file for b in broken] == [str(catalogue_copy / "registrations" / name)]


def test_a_dictionary_with_another_extension_is_a_problem(catalogue_copy: Path) -> None:
    folder = catalogue_copy / "dictionaries" / "ltr"
    shutil.copy(folder / "2026.1.yaml", folder / "2026.2.yml")
    _, problems = load_registrations(catalogue_copy)
    assert [str(p).split("/dictionaries/")[1] for p in problems] == [
        "ltr/2026.2.yml: $: only files named <id>.yaml are read; rename it to end in .yaml"
    ]


def test_editor_files_are_left_alone(catalogue_copy: Path) -> None:
    for name in (".ldtr.yaml.swp", "ldtr.yaml~", "README.md"):
        (catalogue_copy / "registrations" / name).write_text("x", encoding="utf-8")
    registrations, problems = load_registrations(catalogue_copy)
    assert problems == [] and len(registrations) == 3
