"""Commands about one registration read only that one; another's broken file does not stop them.

Decision 0421 let a run load its own registration whatever state the other
files are in, but ``validate``, ``registrations show``, ``failures`` and
``retract`` still loaded the whole catalogue: the walk-through's step 3
(docs/new-registration.md) refused to validate ``dsaa-zuid`` while a colleague's
half-finished registration sat next to it, and a retraction of data delivered
without a legal basis waited for someone else's typo.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.cli.main import main
from aanlevering.demo import DemoOptions, generate_demo_data

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
OTHERS_PROBLEM = "problem(s) in the registration catalogue"


@pytest.fixture
def catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    # A colleague's registration, scaffolded and not finished.
    (target / "registrations" / "nkr-oost.yaml").write_text(
        "id: nkr-oost\nname: NKR Oost\nfrequency: year\n", encoding="utf-8"
    )
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(target))
    monkeypatch.delenv("AANLEVERING_EVENT_STORE", raising=False)
    return target


@pytest.fixture
def export(tmp_path: Path) -> Path:
    out = tmp_path / "demo"
    generate_demo_data(
        load_catalogue(CATALOGUE),
        DemoOptions(
            out_dir=out,
            patients=30,
            seed=7,
            registrations=("dica-dsaa",),
            formats=frozenset({"csv"}),
        ),
    )
    return out / "csv-utf8"


def test_show_validate_and_failures_of_a_sound_registration_still_work(
    catalogue: Path, export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registrations", "show", "dica-dsaa"]) == 0
    assert '"id": "dica-dsaa"' in capsys.readouterr().out
    args = ["--registration", "dica-dsaa", "--input", str(export), "--period", "2026-Q1"]
    assert main(["failures", *args]) == 0
    assert "patient(s) without every pseudonym" in capsys.readouterr().out
    code = main(["validate", *args, "--report-dir", str(tmp_path / "r"), "--no-data-docs"])
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    assert "validation of dica-dsaa 2026-Q1" in captured.out


def test_a_retraction_is_not_held_up_by_another_file(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["retract", "--registration", "dica-dsaa", "--period", "2026-Q1", "--reason", "x"])
    assert OTHERS_PROBLEM not in capsys.readouterr().err


def test_the_broken_registration_itself_still_names_its_problems(
    catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registrations", "show", "nkr-oost"]) == 2
    error = capsys.readouterr().err
    assert OTHERS_PROBLEM in error and "nkr-oost.yaml" in error
