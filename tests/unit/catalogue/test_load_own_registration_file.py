"""A run reads its own registration file and dictionary, not the whole catalogue (0740).

Why pinned against the straightforward load: every task process of the
Airflow path loads its registration, and reading, schema-checking and
building every other registration and dictionary cost it CPU that grows with
the catalogue. The result must be exactly what the whole load picks.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.catalogue.loader import (
    CatalogueInvalid,
    load_registration,
    load_registrations,
    pick_registration,
)
from aanlevering.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
IDS = sorted(p.stem for p in (CATALOGUE / "registrations").glob("*.yaml"))


def _whole_load(root: Path, registration_id: str) -> object:
    """The straightforward way: load every file, then pick one."""
    registrations, problems = load_registrations(root)
    return pick_registration(root, registrations, problems, registration_id)


@pytest.mark.parametrize("registration_id", IDS)
def test_the_own_file_gives_what_the_whole_catalogue_gives(registration_id: str) -> None:
    own = load_registration(CATALOGUE, registration_id)
    assert own == _whole_load(CATALOGUE, registration_id)
    assert own.config_sha256 and own.source_file.endswith(f"{registration_id}.yaml")


def test_other_files_are_not_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, root)
    (root / "registrations" / "nkr-borst.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    (root / "dictionaries" / "nkr-borst" / "2026.1.yaml").write_text("- 1\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="aanlevering.catalogue.loader"):
        own = load_registration(root, "dica-dsaa")
    sound = load_registration(CATALOGUE, "dica-dsaa")
    assert own == replace(sound, source_file=own.source_file)
    # The whole load would have read the broken files and said so.
    assert not [r for r in caplog.records if "other files" in r.getMessage()]
    with caplog.at_level(logging.WARNING, logger="aanlevering.catalogue.loader"):
        assert _whole_load(root, "dica-dsaa") == own
    assert [r for r in caplog.records if "other files" in r.getMessage()]


def test_a_problem_of_its_own_is_reported_as_by_the_whole_load(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, root)
    dictionary = root / "dictionaries" / "dsaa" / "2026.1.yaml"
    dictionary.write_text(
        dictionary.read_text(encoding="utf-8") + "unknown_key: 1\n", encoding="utf-8"
    )
    with pytest.raises(CatalogueInvalid) as own:
        load_registration(root, "dica-dsaa")
    with pytest.raises(CatalogueInvalid) as whole:
        _whole_load(root, "dica-dsaa")
    assert own.value.problems == whole.value.problems
    assert "2026.1.yaml" in {Path(p.file).name for p in own.value.problems}


@pytest.mark.parametrize(
    "registration_id",
    ["../registrations/ldtr", "registrations/ldtr", "./ldtr", ".hidden", "LDTR", "", "nkr"],
)
def test_an_odd_id_gets_the_answer_of_the_whole_load(tmp_path: Path, registration_id: str) -> None:
    root = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, root)
    (root / "registrations" / ".hidden.yaml").write_text(
        (root / "registrations" / "ldtr.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as own:
        load_registration(root, registration_id)
    with pytest.raises(ConfigError) as whole:
        _whole_load(root, registration_id)
    assert (type(own.value), str(own.value)) == (type(whole.value), str(whole.value))
