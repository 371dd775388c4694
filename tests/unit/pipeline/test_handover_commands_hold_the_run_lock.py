"""The hand-over commands hold the period's run lock, and the calendar does not take them for runs.

Decision 0901: ``confirm-upload`` and ``abandon-handover`` wait for a run of the
period and stop, nothing recorded, when it holds the period; a run waits for
them the same way. Their release is no run's outcome: a period whose last run
validation blocked stays blocked in the calendar after a confirm-upload. Both
backends; the commands through the CLI.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tests.support.handover import PERIOD, REG, home_with_an_outbox_handover

from aanlevering.cli.main import main
from aanlevering.deliver.events import delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.events import open_event_store
from aanlevering.obligation.run_outcomes import project_run_outcomes
from aanlevering.pipeline.lock import LockScope, acquire, current_holder, release
from aanlevering.settings import load_settings

WHERE = ["--registration", REG, "--period", PERIOD, "--version", "1"]
COMMANDS = {"confirm-upload": [], "abandon-handover": ["--reason", "now over https"]}


@pytest.fixture
def log(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """v1 placed in an outbox, in a home whose event log is ``store_url``."""
    return home_with_an_outbox_handover(store_url, tmp_path / "home", monkeypatch)


def _scope() -> LockScope:
    return LockScope(load_settings().provider_id, REG, PERIOD)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_command_stops_while_a_run_holds_the_period(
    log: str, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    with open_event_store(log) as store:
        acquire(store, _scope(), "run-in-build", lease=timedelta(hours=1))
        before = store.stream_version(delivery_stream(REG, PERIOD))
    assert main([command, *WHERE, *COMMANDS[command]]) == 2
    _, err = capsys.readouterr()
    assert f"{command}: nothing recorded: {REG} {PERIOD} is being delivered by run" in err, err
    assert "run-in-build" in err
    with open_event_store(log) as store:
        assert store.stream_version(delivery_stream(REG, PERIOD)) == before
        holder = current_holder(store, _scope())
        assert holder is not None and holder.run_id == "run-in-build"  # not taken from it
        release(store, _scope(), "run-in-build", "handed-over")
    assert main([command, *WHERE, *COMMANDS[command]]) == 0  # the run ended: it records


def test_a_period_blocked_by_validation_stays_blocked_after_a_command(
    log: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_event_store(log) as store:
        acquire(store, _scope(), "run-blocked", lease=timedelta(hours=1))
        release(store, _scope(), "run-blocked", "validation-blocked")
    assert main(["confirm-upload", *WHERE]) == 0
    with open_event_store(log) as store:
        outcomes = project_run_outcomes(store.read_all())
        holder = current_holder(store, _scope())
        (entry,) = load_ledger(store).versions(REG, PERIOD)
    assert entry.delivered
    assert holder is not None and holder.run_id == ""  # the command let the period go
    assert outcomes.outcome(REG, PERIOD) == "validation-blocked"
