"""Outside demo mode nothing is delivered under the demo hospital's name (decision 0711).

``AANLEVERING_PROVIDER_ID`` defaulted to ``demo-hospital`` outside compose: a
production run that forgot it delivered, and bound its event log, as the demo
hospital. Now the id has a default only with ``AANLEVERING_DEMO_MODE=yes``;
otherwise whatever delivers stops with exit 2 naming the setting, before a run
folder, a run lock or an event is made.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from aanlevering.errors import ConfigError
from aanlevering.runs.steps import start_run
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"


@pytest.fixture
def production_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home with an input setting, but no provider id and not in demo mode."""
    home = tmp_path / "home"
    export = tmp_path / "export"
    export.mkdir()
    monkeypatch.setenv("AANLEVERING_HOME", str(home))
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(CATALOGUE))
    monkeypatch.setenv("AANLEVERING_INPUT__DICA_DSAA", str(export))
    monkeypatch.delenv("AANLEVERING_PROVIDER_ID", raising=False)
    monkeypatch.delenv("AANLEVERING_DEMO_MODE", raising=False)
    yield home


def _nothing_made(home: Path) -> None:
    assert not (home / "staging").exists()
    assert not (home / "events.sqlite3").exists()


def test_a_scheduled_run_without_a_provider_id_stops_before_anything(
    production_home: Path,
) -> None:
    with pytest.raises(ConfigError, match="AANLEVERING_PROVIDER_ID is not set") as stopped:
        start_run("dica-dsaa", "2026-Q1", today=date(2026, 4, 2), run_id="scheduled__x")
    assert "AANLEVERING_DEMO_MODE" in str(stopped.value)
    _nothing_made(production_home)


def test_the_run_command_without_a_provider_id_exits_2_naming_it(
    production_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aanlevering.cli.main import main

    code = main(
        ["run", "--registration", "dica-dsaa", "--period", "2026-Q1", "--input", str(tmp_path)]
    )
    captured = capsys.readouterr()
    assert code == 2, captured.out
    assert "AANLEVERING_PROVIDER_ID" in captured.err
    assert "demo-hospital" not in captured.out
    _nothing_made(production_home)


def test_without_a_provider_id_outside_demo_mode_there_is_no_default(tmp_path: Path) -> None:
    settings = load_settings({"AANLEVERING_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="AANLEVERING_PROVIDER_ID is not set"):
        _ = settings.provider_id


@pytest.mark.parametrize("mode", ["no", "0", "false", ""])
def test_demo_mode_no_is_production(tmp_path: Path, mode: str) -> None:
    env = {"AANLEVERING_HOME": str(tmp_path), "AANLEVERING_DEMO_MODE": mode}
    with pytest.raises(ConfigError, match="AANLEVERING_PROVIDER_ID is not set"):
        _ = load_settings(env).provider_id


def test_in_demo_mode_the_default_is_the_demo_hospital(tmp_path: Path) -> None:
    env = {"AANLEVERING_HOME": str(tmp_path), "AANLEVERING_DEMO_MODE": "yes"}
    assert load_settings(env).provider_id == "demo-hospital"


def test_a_provider_id_that_is_set_needs_no_demo_mode(tmp_path: Path) -> None:
    env = {"AANLEVERING_HOME": str(tmp_path), "AANLEVERING_PROVIDER_ID": "06010101"}
    assert load_settings(env).provider_id == "06010101"


@pytest.mark.parametrize("typo", ["ye", "demo", "yes please"])
def test_a_demo_mode_that_is_neither_yes_nor_no_is_refused_naming_it(
    tmp_path: Path, typo: str
) -> None:
    env = {"AANLEVERING_HOME": str(tmp_path), "AANLEVERING_DEMO_MODE": typo}
    with pytest.raises(ConfigError, match="AANLEVERING_DEMO_MODE must be yes or no"):
        load_settings(env)


def test_the_demo_hospitals_id_is_refused_outside_demo_mode(tmp_path: Path) -> None:
    """deploy/compose.env.example ships demo-hospital: kept by mistake, it delivers nothing."""
    env = {"AANLEVERING_HOME": str(tmp_path), "AANLEVERING_PROVIDER_ID": "demo-hospital"}
    with pytest.raises(ConfigError, match="the demo's id") as refused:
        _ = load_settings(env).provider_id
    assert "AANLEVERING_DEMO_MODE=yes" in str(refused.value)
    assert load_settings({**env, "AANLEVERING_DEMO_MODE": "yes"}).provider_id == "demo-hospital"


def test_a_scheduled_run_as_the_demo_hospital_outside_demo_mode_stops_before_anything(
    production_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AANLEVERING_PROVIDER_ID", "demo-hospital")
    with pytest.raises(ConfigError, match="the demo's id"):
        start_run("dica-dsaa", "2026-Q1", today=date(2026, 4, 2), run_id="scheduled__x")
    _nothing_made(production_home)
