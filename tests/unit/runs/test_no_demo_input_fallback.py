"""A scheduled run without an input setting stops; it never falls back to the demo data (0705).

Why: the scheduled runs used to read ``$AANLEVERING_HOME/demo/clean`` when a
registration had no ``AANLEVERING_INPUT__<ID>`` and no ``AANLEVERING_INPUT_DIR``.
A production home that once ran ``make run`` (or holds that folder for any
reason) would then deliver synthetic demo patients to a real registry holder
under the hospital's name, and record the delivery as delivered. The provider
id does not tell production from the demo (compose.env.example ships
``demo-hospital``), so the fallback is gone for every provider: the run stops
with a ConfigError naming the setting, before any folder, lock or event is made.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.demo import DemoOptions, generate_demo_data
from aanlevering.errors import ConfigError
from aanlevering.runs.inputs import input_path_for
from aanlevering.runs.steps import start_run

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
RUN_ID = "scheduled__2026-04-01T00:00:00+00:00"


@pytest.fixture
def home_with_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home holding the demo data exactly where ``make run`` writes it, and no input setting."""
    home = tmp_path / "home"
    generate_demo_data(
        load_catalogue(CATALOGUE),
        DemoOptions(out_dir=home / "demo" / "clean", patients=20, seed=7, bad_share=0),
    )
    monkeypatch.setenv("AANLEVERING_HOME", str(home))
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(CATALOGUE))
    monkeypatch.delenv("AANLEVERING_INPUT_DIR", raising=False)
    for registration in ("DICA_DSAA", "LDTR", "NKR_BORST"):
        monkeypatch.delenv(f"AANLEVERING_INPUT__{registration}", raising=False)
    yield home


def _as(monkeypatch: pytest.MonkeyPatch, provider: str | None) -> None:
    if provider is None:
        monkeypatch.delenv("AANLEVERING_PROVIDER_ID", raising=False)
    else:
        monkeypatch.setenv("AANLEVERING_PROVIDER_ID", provider)


PROVIDERS = ["ziekenhuis-oost", "demo-hospital", None]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_scheduled_run_without_an_input_setting_stops_before_anything(
    home_with_demo: Path, monkeypatch: pytest.MonkeyPatch, provider: str | None
) -> None:
    _as(monkeypatch, provider)
    with pytest.raises(ConfigError) as stopped:
        start_run("dica-dsaa", "2026-Q1", today=date(2026, 4, 2), run_id=RUN_ID)
    message = str(stopped.value)
    assert "AANLEVERING_INPUT__DICA_DSAA" in message and "AANLEVERING_INPUT_DIR" in message
    assert "demo" not in message.replace("aanlevering run", "")  # no demo path offered
    # Stopped before the run folder, the run lock or any event was made.
    assert not (home_with_demo / "staging").exists()
    assert not (home_with_demo / "events.sqlite3").exists()


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
def test_no_registration_falls_back_to_the_demo_data(
    home_with_demo: Path, registration: str
) -> None:
    config = load_catalogue(CATALOGUE).get(registration)
    setting = "AANLEVERING_INPUT__" + registration.upper().replace("-", "_")
    with pytest.raises(ConfigError, match=setting):
        input_path_for(config, env={})


def test_the_settings_still_name_the_input(home_with_demo: Path, tmp_path: Path) -> None:
    config = load_catalogue(CATALOGUE).get("dica-dsaa")
    export = tmp_path / "export"
    assert input_path_for(config, {"AANLEVERING_INPUT__DICA_DSAA": str(export)}) == (export)
    assert input_path_for(config, {"AANLEVERING_INPUT_DIR": str(tmp_path)}) == (
        tmp_path / "dica-dsaa"
    )


def test_the_failures_command_without_input_exits_2_naming_the_setting(
    home_with_demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aanlevering.cli.main import main

    _as(monkeypatch, "ziekenhuis-oost")
    code = main(["failures", "--registration", "dica-dsaa", "--period", "2026-Q1"])
    captured = capsys.readouterr()
    assert code == 2, captured.out
    assert "AANLEVERING_INPUT__DICA_DSAA" in captured.err and "--input" in captured.err
    assert captured.out == ""  # nothing was read, so no patient was listed


def test_a_retry_of_a_version_staged_before_0665_fails_naming_the_setting(
    home_with_demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hourly retry DAG: such a version recorded no input, so only the setting could name it."""
    from aanlevering.deliver.events import DeliveryStaged, delivery_stream
    from aanlevering.events.factory import open_event_store
    from aanlevering.runs.retry import retry_unreceipted
    from aanlevering.settings import load_settings

    _as(monkeypatch, "ziekenhuis-oost")
    monkeypatch.setenv("AANLEVERING_TTP_URL", "http://127.0.0.1:9")  # never reached
    monkeypatch.setenv("AANLEVERING_TTP_API_KEY", "not-used")
    key = "ziekenhuis-oost.dica-dsaa.2026-Q1.v1"
    staged = DeliveryStaged(
        registration="dica-dsaa",
        period="2026-Q1",
        version=1,
        idempotency_key=key,
        channel="https",
        format="csv",
        provider="ziekenhuis-oost",
    )
    with open_event_store(load_settings().event_store_url) as store:
        store.append(delivery_stream("dica-dsaa", "2026-Q1"), [staged], 0)
        before = store.last_position()

    [outcome] = retry_unreceipted(today=date(2026, 5, 1))

    assert (outcome.idempotency_key, outcome.status) == (key, "failed")
    assert "AANLEVERING_INPUT__DICA_DSAA" in outcome.detail
    assert not (home_with_demo / "staging").exists()
    with open_event_store(load_settings().event_store_url) as store:
        assert store.last_position() == before
