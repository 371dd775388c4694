"""confirm-upload and abandon-handover never act beside a run of the same period.

Found attacking decision 0883 (decision 0901): the commands append only at the
stream version they read, but a run of the period reads the ledger too and
writes the version's hospital report after its read. A run placing v1 in an
outbox read the ledger in its last step ("v1 awaits its upload"); an
``abandon-handover`` of v1 then recorded and rewrote the report as abandoned;
the run went on and wrote "handed-over: upload it, then confirm-upload" over it,
and said so as its last word, of a version the log holds as abandoned (and
``confirm-upload`` refuses). With ``confirm-upload`` the report said "not
delivered" of a version the log counts as delivered. The competing command runs
in its own process, exactly between the run's read and its report (a hook on
the run's store, no sleeps); it now waits for the run's lock and stops,
nothing recorded; after the run it records and the report follows.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

from aanlevering.deliver.ledger import LedgerEntry, load_ledger
from aanlevering.events.store import EventStore
from aanlevering.optout.events import contents_stream
from aanlevering.periods import Period
from aanlevering.pipeline.run import Ports, RunRequest, run_delivery
from aanlevering.validate.hospital_report import HOSPITAL_REPORT
from conftest import CATALOGUE, World
from support.receivers import REGISTRATION, TODAY, outbox_receiver

COMMANDS = {
    "abandon-handover": ["--reason", "registration now delivers over https"],
    "confirm-upload": [],  # received today
}
PERIODS = {"abandon-handover": "2026-Q1", "confirm-upload": "2026-Q2"}


class _ReadThenRaced:
    """The run's store: right after the run's last step has read the ledger, ``race`` runs."""

    def __init__(self, store: EventStore, period: str, race: Callable[[], None]) -> None:
        self._store = store
        self._after = contents_stream(REGISTRATION, period, 1)
        self._race: Callable[[], None] | None = race

    def stream_version(self, stream: str) -> int:
        if stream == self._after and self._race is not None:
            race, self._race = self._race, None
            race()
        return self._store.stream_version(stream)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it, in its own process; a run's lock is not waited for."""
    return world.cli(CATALOGUE, *args, env={"AANLEVERING_RUN_LOCK_WAIT": "0"})


def _report_status(world: World, period: str) -> str:
    path = world.settings.reports_dir / REGISTRATION / period / "v1" / HOSPITAL_REPORT
    return str(json.loads(path.read_text(encoding="utf-8"))["delivery"]["status"])


def _as_the_ledger_has_it(entry: LedgerEntry) -> str:
    """The report status that says what the ledger holds of ``entry``."""
    if entry.status == "abandoned":
        return "abandoned"
    return "handed-over" if entry.awaiting_upload else "delivered"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_hand_over_command_during_a_run_records_nothing_and_the_report_stays_true(
    world: World, tmp_path: Path, command: str
) -> None:
    world.include(REGISTRATION)
    period = PERIODS[command]
    where = ["--registration", REGISTRATION, "--period", period, "--version", "1"]
    receiver = outbox_receiver(world, tmp_path / "outbox")
    raced: list[subprocess.CompletedProcess[str]] = []

    def race() -> None:
        raced.append(_cli(world, command, *where, *COMMANDS[command]))

    with world.store() as store:
        racing = cast(EventStore, _ReadThenRaced(store, period, race))
        ports: Ports = replace(receiver.ports(world, store), store=racing)
        result = run_delivery(
            world.config(REGISTRATION),
            world.settings,
            RunRequest(REGISTRATION, world.demo / "csv-utf8", Period.parse(period), today=TODAY),
            ports,
        )
    (during,) = raced
    with world.store() as store:
        (entry,) = load_ledger(store).versions(REGISTRATION, period)
    # What the run said and its report agree with the log, whatever the command did.
    assert (result.status, _report_status(world, period)) == (
        {"handed-over": "handed-over", "delivered": "delivered"}.get(
            _as_the_ledger_has_it(entry), "the run said what the log no longer holds"
        ),
        _as_the_ledger_has_it(entry),
    ), (during.returncode, during.stdout, entry.status)
    # The command stopped for the run, recording nothing.
    assert during.returncode == 2, (during.stdout, during.stderr)
    assert "is being delivered by run" in during.stderr, during.stderr  # 0961
    assert "nothing recorded" in during.stderr, during.stderr
    assert entry.awaiting_upload

    after = _cli(world, command, *where, *COMMANDS[command])
    assert after.returncode == 0, after.stderr[-2000:]
    with world.store() as store:
        (entry,) = load_ledger(store).versions(REGISTRATION, period)
    assert _report_status(world, period) == _as_the_ledger_has_it(entry) != "handed-over"
