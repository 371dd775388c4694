"""A hand-over command turned away by a run says what holds the period and how to wait (0961).

``confirm-upload`` and ``abandon-handover`` wait ``AANLEVERING_RUN_LOCK_WAIT``
(30 s) for the period's run lock (0901); an Airflow run holds it between its
tasks, for hours. The refusal said only "a run ... is going". It now names
the run, since when it holds the period, its last step as its run folder
says, that an Airflow run holds it until its last task ends, and how to wait
longer (``--wait SECONDS``); exit 2 and nothing recorded stay. A real held
lock, both backends, the commands through the CLI.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from tests.support.handover import PERIOD, REG, home_with_an_outbox_handover

from aanlevering.cli.main import main
from aanlevering.deliver.events import delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.events import open_event_store
from aanlevering.pipeline.lock import LockScope, acquire, current_holder, release
from aanlevering.pipeline.state import JsonStateFile, run_folder_path
from aanlevering.settings import load_settings

WHERE = ["--registration", REG, "--period", PERIOD, "--version", "1"]
COMMANDS = {"confirm-upload": [], "abandon-handover": ["--reason", "now over https"]}
AIRFLOW_RUN = "scheduled__2026-12-07T00:00:00+00:00"


@pytest.fixture
def log(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """v1 placed in an outbox, in a home whose event log is ``store_url``; no lock wait."""
    return home_with_an_outbox_handover(store_url, tmp_path / "home", monkeypatch)


def _scope() -> LockScope:
    return LockScope(load_settings().provider_id, REG, PERIOD)


def _hold_as_an_airflow_run(store_url: str) -> str:
    """An Airflow run's hold: its run folder at step ``extracted``, the lease, no process."""
    settings = load_settings()
    folder = run_folder_path(settings.staging_dir, settings.provider_id, REG, PERIOD, AIRFLOW_RUN)
    JsonStateFile(folder).update(
        {"run_id": folder.name.removeprefix("run-"), "status": "extracted"}
    )
    run_id = folder.name.removeprefix("run-")  # a run holds its period under its folder's name
    with open_event_store(store_url) as store:
        acquire(store, _scope(), run_id, lease=timedelta(hours=1))
    return run_id


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_refusal_names_the_run_since_when_its_step_and_how_to_wait(
    log: str, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    run_id = _hold_as_an_airflow_run(log)
    with open_event_store(log) as store:
        before = store.stream_version(delivery_stream(REG, PERIOD))
    assert main([command, *WHERE, *COMMANDS[command]]) == 2
    _, err = capsys.readouterr()
    assert f"{command}: nothing recorded" in err, err
    assert f"run {run_id}" in err, err
    assert re.search(r"holds it since \d{4}-\d\d-\d\d \d\d:\d\d UTC", err), err
    assert "last step: extracted" in err, err
    assert "an Airflow run" in err and "until its last task ends" in err, err
    assert "--wait SECONDS" in err and "AANLEVERING_RUN_LOCK_WAIT" in err, err
    assert "waited 0 s" in err, err
    with open_event_store(log) as store:
        assert store.stream_version(delivery_stream(REG, PERIOD)) == before
        holder = current_holder(store, _scope())
    assert holder is not None and holder.run_id == run_id


@pytest.mark.parametrize("command", list(COMMANDS))
def test_wait_lets_the_command_wait_for_the_run_to_end(log: str, command: str) -> None:
    run_id = _hold_as_an_airflow_run(log)

    def the_run_ends() -> None:
        time.sleep(1.5)
        with open_event_store(log) as store:
            release(store, _scope(), run_id, "handed-over")

    ending = threading.Thread(target=the_run_ends)
    ending.start()
    started = time.monotonic()
    try:
        assert main([command, *WHERE, *COMMANDS[command], "--wait", "60"]) == 0
    finally:
        ending.join()
    assert time.monotonic() - started >= 1.0  # it waited for the run, past the setting's 0 s
    with open_event_store(log) as store:
        (entry,) = load_ledger(store).versions(REG, PERIOD)
    assert entry.status == "abandoned" if command == "abandon-handover" else entry.delivered


def test_wait_is_a_number_of_seconds(log: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["confirm-upload", *WHERE, "--wait", "-1"])
    assert refused.value.code == 2
    assert "--wait: expected a number of seconds, 0 or more" in capsys.readouterr().err
