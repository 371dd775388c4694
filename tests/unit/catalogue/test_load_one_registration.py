"""A run loads its own registration; another engineer's broken file does not stop it (0421).

Before, every run loaded the whole catalogue and refused to start when any
file had a problem, so the DAGs of the sound registrations (which still build,
decision 0420) failed at their first task over a file that was not theirs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aanlevering.catalogue.loader import CatalogueInvalid, load_registration
from aanlevering.errors import ConfigError
from aanlevering.runs import steps

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    nkr = target / "registrations" / "nkr-borst.yaml"
    nkr.write_text(
        nkr.read_text(encoding="utf-8").replace("pseudonymisation:", "pseudonymise:"),
        encoding="utf-8",
    )
    return target


def test_a_sound_registration_loads_beside_a_broken_one(catalogue_copy: Path) -> None:
    assert load_registration(catalogue_copy, "ldtr").id == "ldtr"


def test_the_broken_registration_is_refused_with_only_its_own_problems(
    catalogue_copy: Path,
) -> None:
    dsaa = catalogue_copy / "registrations" / "dica-dsaa.yaml"
    dsaa.write_text(dsaa.read_text(encoding="utf-8") + "extra: 1\n", encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as refused:
        load_registration(catalogue_copy, "nkr-borst")
    files = {Path(p.file).name for p in refused.value.problems}
    assert files == {"nkr-borst.yaml"}
    assert "'pseudonymise' is not a known key" in str(refused.value)


def test_an_unknown_registration_names_the_known_ones(catalogue_copy: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown registration 'ltr'.*known: dica-dsaa, ldtr"):
        load_registration(catalogue_copy, "ltr")


def test_a_run_of_a_sound_registration_gets_past_the_catalogue(
    catalogue_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(catalogue_copy))
    # The period is checked right after the registration is loaded: its own error
    # (not the other file's) shows the catalogue did not stop the run.
    with pytest.raises(ConfigError, match="is not a year"):
        steps.start_run("ldtr", "0000")
    with pytest.raises(CatalogueInvalid, match=r"nkr-borst\.yaml"):
        steps.start_run("nkr-borst", "0000")
