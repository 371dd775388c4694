"""``--catalogue`` is honoured by every command that reads it; suites go to its own folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aanlevering.cli.main import main

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "great_expectations" / "expectations"


@pytest.fixture
def external(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A catalogue outside the checkout with one registration (nkr-borst)."""
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AANLEVERING_CATALOGUE", raising=False)
    monkeypatch.delenv("AANLEVERING_GX_DIR", raising=False)
    catalogue = tmp_path / "elsewhere" / "catalogue"
    shutil.copytree(REPO / "schemas" / "catalogue", catalogue)
    for other in ("dica-dsaa", "ldtr"):
        (catalogue / "registrations" / f"{other}.yaml").unlink()
    return catalogue


def test_regenerating_the_suites_of_an_external_catalogue_leaves_the_checkouts_alone(
    external: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {p.name: p.read_bytes() for p in COMMITTED.glob("*.json")}

    code = main(["validate", "--regenerate-suites", "--catalogue", str(external)])

    out = capsys.readouterr().out
    assert code == 0, out
    own = external / "great_expectations" / "expectations"
    assert sorted(p.stem for p in own.glob("*.json")) == [
        f"nkr-borst-2026_1-tumor-{kind}" for kind in ("hospital", "umc", "zbc")
    ]
    assert {p.name: p.read_bytes() for p in COMMITTED.glob("*.json")} == before
    assert "removed" not in out.replace("0 removed", "")


def test_commands_that_read_the_catalogue_take_the_option(
    external: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--catalogue", str(external)]) == 0
    out = capsys.readouterr().out
    assert "nkr-borst" in out and "dica-dsaa" not in out and "ldtr" not in out
    commands = (
        ["run"], ["retract"], ["events", "rebuild"], ["keys", "init-demo"],
        ["registry-holder", "init-config"], ["failures"], ["validate"], ["demo-data"],
    )  # fmt: skip
    for command in commands:
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        assert "--catalogue" in capsys.readouterr().out, command


def test_validating_with_a_catalogue_without_suites_warns_with_the_real_command(
    external: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from aanlevering.catalogue import load_catalogue
    from aanlevering.demo import DemoOptions, generate_demo_data

    generate_demo_data(
        load_catalogue(external),
        DemoOptions(tmp_path / "demo", 20, 3, registrations=("nkr-borst",), bad_share=0),
    )
    code = main(["validate", "--catalogue", str(external), "--registration", "nkr-borst",
                 "--input", str(tmp_path / "demo" / "csv-utf8"), "--period", "2026",
                 "--no-data-docs", "--report-dir", str(tmp_path / "reports")])  # fmt: skip

    assert code == 0
    assert f"run `aanlevering validate --regenerate-suites --catalogue {external}`" in caplog.text
    assert "aanlevering suites generate" not in caplog.text
    assert not (external / "great_expectations").exists()  # a run never scaffolds a context
