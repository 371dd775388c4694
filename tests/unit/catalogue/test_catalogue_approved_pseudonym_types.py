"""A registration asks only for pseudonym types its approval allows (0424).

Which types a registration may receive is part of its approval (DOMAIN.md);
most may not process the BSN. A dictionary that lists ``pseudonym_types``
states that approval, and a registration config asking for another type is
refused; before, any type of the enum was accepted (B with any 20 characters
of justification).
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


def _load(catalogue: Path, approved: list[str] | None, asked: list[str]) -> list[str]:
    dictionary = catalogue / "dictionaries" / "ltr" / "2026.1.yaml"
    data = yaml.safe_load(dictionary.read_text(encoding="utf-8"))
    if approved is not None:
        data["pseudonym_types"] = approved
    dictionary.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    registration = catalogue / "registrations" / "ldtr.yaml"
    data = yaml.safe_load(registration.read_text(encoding="utf-8"))
    data["pseudonymisation"]["types"] = asked
    if "B" in asked:
        data["pseudonymisation"]["bsn_justification"] = "Artikel 12 van een wet die er niet is"
    registration.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    registrations, problems = load_registrations(catalogue)
    assert ("ldtr" in registrations) == (not problems)
    return [str(p) for p in problems]


def test_a_type_outside_the_approval_is_refused(catalogue_copy: Path) -> None:
    problems = _load(catalogue_copy, ["NGG", "C", "MRN"], ["NGG", "C", "MRN", "B"])
    assert len(problems) == 1, problems
    assert "ldtr.yaml: $.pseudonymisation.types: " in problems[0]
    assert "B is not among the types dictionary ltr 2026.1 allows (NGG, C, MRN)" in problems[0]


def test_types_within_the_approval_load(catalogue_copy: Path) -> None:
    assert _load(catalogue_copy, ["NGG", "C", "MRN", "GG"], ["NGG", "MRN"]) == []


def test_a_dictionary_without_the_list_leaves_the_choice_to_the_config(
    catalogue_copy: Path,
) -> None:
    assert _load(catalogue_copy, None, ["NGG", "C", "MRN"]) == []


def test_an_unknown_type_in_the_dictionary_is_refused(catalogue_copy: Path) -> None:
    problems = _load(catalogue_copy, ["NGG", "BSN"], ["NGG"])
    assert any("2026.1.yaml: $.pseudonym_types[1]: pseudonym_types[1] 'BSN'" in p for p in problems)
    # The registration does not claim its (present but broken) dictionary is missing.
    assert any(
        "ldtr.yaml: $.dictionary: dictionary ltr version 2026.1 has problems" in p for p in problems
    ), problems
    assert not any("not found" in p for p in problems), problems


def test_b_without_a_stated_approval_is_refused(catalogue_copy: Path) -> None:
    """A justification the config's author writes is no approval: the dictionary must list B."""
    problems = _load(catalogue_copy, None, ["NGG", "C", "MRN", "B"])
    assert problems == [
        f"{catalogue_copy / 'registrations' / 'ldtr.yaml'}: $.pseudonymisation.types: "
        "B (the BSN pseudonym) needs the registration's approval for it, and dictionary ltr "
        "2026.1 does not state its approved pseudonym_types: most registrations may not "
        "process the BSN; ask the registry holder for a dictionary version that lists B, or "
        "use another type"
    ]


def test_b_with_a_stated_approval_loads(catalogue_copy: Path) -> None:
    assert _load(catalogue_copy, ["NGG", "C", "MRN", "B"], ["NGG", "C", "MRN", "B"]) == []
