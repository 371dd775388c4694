"""Fault scenarios of a whole run: each ends in exactly one receipted delivery, nothing lost."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from test_failed_runs_leave_no_identifier import leaks_left, outside_private_run_folders

from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import TTPError
from aanlevering.optout.events import contents_stream
from aanlevering.periods import Period
from aanlevering.pipeline.events import RunLockRefused, RunLockTaken, run_lock_stream
from aanlevering.pipeline.run import RunRequest, run_delivery
from conftest import World, fhir_identity_values
from support.forked_cli import run_cli, start_cli

TODAY = date(2026, 11, 22)


def _admin(world: World) -> dict[str, str]:
    key = (world.home / "ttp" / "clients" / "ttp-admin.key").read_text().strip()
    return {"Authorization": f"Bearer {key}"}


def _arm_ttp(world: World, count: int, mode: str = "error") -> None:
    response = requests.post(
        world.ttp.url + "/admin/faults",
        json={"count": count, "mode": mode},
        headers=_admin(world),
        timeout=5,
    )
    assert response.status_code == 200, response.text


def _deliveries(world: World, key: str) -> int:
    return sum(1 for e in world.holder.ledger() if e["idempotency_key"] == key)


def test_ttp_fails_mid_run_then_recovers(world: World) -> None:
    _arm_ttp(world, 50)  # more failures than the client retries: the run stops
    with world.store() as store, pytest.raises(TTPError):
        run_delivery(
            world.config("dica-dsaa"),
            world.settings,
            RunRequest("dica-dsaa", world.demo / "csv-utf8", Period.parse("2026-Q1"), today=TODAY),
            world.ports(store),
        )
    assert _deliveries(world, "demo-hospital.dica-dsaa.2026-Q1.v1") == 0  # nothing half-delivered
    _arm_ttp(world, 0)
    _arm_ttp(world, 2)  # a short hiccup is absorbed by the client's retries
    with world.store() as store:
        result = run_delivery(
            world.config("dica-dsaa"),
            world.settings,
            RunRequest("dica-dsaa", world.demo / "csv-utf8", Period.parse("2026-Q1"), today=TODAY),
            world.ports(store),
        )
    assert result.status == "delivered" and result.version == 1
    assert _deliveries(world, "demo-hospital.dica-dsaa.2026-Q1.v1") == 1


def test_process_killed_between_sending_and_receipt_then_run_again(
    world: World, tmp_path: Path
) -> None:
    key = "demo-hospital.dica-dsaa.2026-Q2.v1"
    world.holder.faults(drop_receipt=100)  # stored at the receiver, receipt never arrives
    run = ["run", "--registration", "dica-dsaa", "--input", str(world.demo / "csv-utf8")]
    with open(os.devnull, "wb") as nothing, (tmp_path / "run.log").open("wb") as log:
        process = start_cli(
            [*run, "--period", "2026-Q2"],
            env=_env(world),
            stdin=nothing.fileno(),
            stdout=nothing.fileno(),
            stderr=log.fileno(),
        )
    deadline = time.monotonic() + 120
    while _deliveries(world, key) == 0 and time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "run.log").read_text()[-2000:]
        time.sleep(0.2)
    process.kill()
    process.wait(timeout=10)
    assert _deliveries(world, key) == 1
    with world.store() as store:
        entry = load_ledger(store).current("dica-dsaa", "2026-Q2")
    assert entry is not None and entry.status != "receipted"

    world.holder.faults(drop_receipt=0)
    with world.store() as store:
        result = run_delivery(
            world.config("dica-dsaa"),
            world.settings,
            RunRequest("dica-dsaa", world.demo / "csv-utf8", Period.parse("2026-Q2"), today=TODAY),
            world.ports(store),
        )
        assert result.idempotency_key == key  # the same delivery, not a new version
        assert result.receipt is not None and result.receipt.duplicate
        assert load_ledger(store).current("dica-dsaa", "2026-Q2").status == "receipted"  # type: ignore[union-attr]
    assert _deliveries(world, key) == 1


def _env(world: World, **extra: str) -> dict[str, str]:
    """The world's environment for a CLI subprocess (a checkout's PYTHONPATH passes through)."""
    passed = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    return {**world.env, "PATH": "/usr/bin:/bin", **passed, **extra}


def _lock_events(world: World, registration: str, period: str) -> list[Any]:
    with world.store() as store:
        stream = run_lock_stream(world.settings.provider_id, registration, period)
        return [r.to_event() for r in store.read_stream(stream)]


def test_a_second_run_of_a_period_in_progress_stops_naming_the_first(
    world: World, tmp_path: Path
) -> None:
    """Two runs of one period with different content: one delivery, and the log says which."""
    period, key = "2026-Q3", "demo-hospital.dica-dsaa.2026-Q3.v1"
    changed = tmp_path / "changed"
    shutil.copytree(world.demo / "csv-utf8", changed)
    operatie = next(changed.glob("*perati*.csv"))
    lines = operatie.read_text(encoding="utf-8").splitlines(keepends=True)
    operatie.write_text("".join(lines[:-1]), encoding="utf-8")  # one record fewer
    # Hold the first run in pseudonymisation long enough for the second to start.
    response = requests.post(
        world.ttp.url + "/admin/faults",
        json={"count": 1, "mode": "hang", "hang_seconds": 6},
        headers=_admin(world),
        timeout=5,
    )
    assert response.status_code == 200, response.text
    first = subprocess.Popen(
        _cli_run("dica-dsaa", world.demo / "csv-utf8", period),
        env=_env(world),
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "first.log").open("wb"),
        text=True,
    )
    deadline = time.monotonic() + 120
    while not any(isinstance(e, RunLockTaken) for e in _lock_events(world, "dica-dsaa", period)):
        assert time.monotonic() < deadline and first.poll() is None, (
            tmp_path / "first.log"
        ).read_text()[-2000:]
        time.sleep(0.1)
    first_run = next(
        e.run_id for e in _lock_events(world, "dica-dsaa", period) if isinstance(e, RunLockTaken)
    )
    second = run_cli(
        _cli_run("dica-dsaa", changed, period)[3:],
        env=_env(world, AANLEVERING_RUN_LOCK_WAIT="0"),
        timeout=300,
    )
    first_out, _ = first.communicate(timeout=300)
    assert first.returncode == 0, (tmp_path / "first.log").read_text()[-2000:]
    assert first_out.startswith("delivered: dica-dsaa 2026-Q3 v1")
    assert second.returncode == 2, second.stderr[-2000:]
    assert f"being delivered by run {first_run}" in second.stderr
    assert _deliveries(world, key) == 1
    assert _deliveries(world, "demo-hospital.dica-dsaa.2026-Q3.v2") == 0
    refused = [e for e in _lock_events(world, "dica-dsaa", period) if isinstance(e, RunLockRefused)]
    assert [e.held_by for e in refused] == [first_run]
    with world.store() as store:
        versions = load_ledger(store).versions("dica-dsaa", period)
    assert [(e.version, e.status) for e in versions] == [(1, "receipted")]
    # The turned-away run left nothing behind in staging; the first cleaned up after itself.
    staging = world.settings.staging_dir / world.settings.provider_id / "dica-dsaa" / period
    assert list(staging.glob("run-*")) == []


def _cli_run(registration: str, source: Path, period: str) -> list[str]:
    """``python -m aanlevering.cli.main run ...`` (its ``[3:]``: the arguments alone)."""
    return [
        sys.executable,
        "-m",
        "aanlevering.cli.main",
        "run",
        "--registration",
        registration,
        "--input",
        str(source),
        "--period",
        period,
    ]


KILL_AFTER = ("extract", "apply_optouts", "validate", "pseudonymise", "build_output", "deliver")

_PARTIAL_RUN = """
import os, sys
from datetime import date
from pathlib import Path
from aanlevering.catalogue import load_catalogue
from aanlevering.events.factory import open_event_store
from aanlevering.optout.events import contents_stream
from aanlevering.periods import Period
from aanlevering.pipeline.events import RunLockRefused, RunLockTaken, run_lock_stream
from aanlevering.pipeline.run import RunRequest, start_state
from aanlevering.pipeline.stages import STAGE_NAMES, STAGES, RunContext, execute_stage
from aanlevering.pipeline.state import MemoryRunState
from aanlevering.runs.ports import default_ports
from aanlevering.settings import load_settings

registration, source, period, outbox, last = sys.argv[1:6]
settings = load_settings()
config = load_catalogue(settings.catalogue_dir).get(registration)
store = open_event_store(settings.event_store_url)
request = RunRequest(registration, Path(source), Period.parse(period),
                     today=date(2026, 11, 22), outbox=Path(outbox))
state = start_state(MemoryRunState, config, settings, request)
ctx = RunContext.from_values(config, settings, default_ports(settings, store), state.values())
for stage in STAGES[: STAGE_NAMES.index(last) + 1]:
    execute_stage(stage, ctx, state)
os._exit(137)  # killed right after this stage: no clean-up, no lock release
"""


@dataclass(frozen=True)
class KilledThenRerun:
    """LDTR (monthly, FHIR) killed after a stage, then run again.

    What the tests of such a run assert on, read when it happened: the identifiers the
    killed run left outside its private run folder, the rerun's status and version, the
    ledger, the period's contents events and the outbox's version folders; for the
    boundaries the leak test searches (``LEAK_KILL_AFTER``) the rerun is the CLI, and
    its output and the identifiers left anywhere after it are kept too.
    """

    period: str
    killed: subprocess.CompletedProcess[str]
    rerun_status: tuple[str, int]
    versions: list[tuple[int, str]]
    contents: list[Any]
    placed: list[str]
    kept_elsewhere: list[str] | None = None  # searched at the leak test's boundaries only
    rerun: subprocess.CompletedProcess[str] | None = None  # the CLI rerun, at those only
    leaks: list[tuple[str, str]] | None = None  # after the CLI rerun


#: The boundaries the leak test searches (identifiers in the run folder); at these the
#: rerun is the CLI, whose output is searched too.
LEAK_KILL_AFTER = ("extract", "validate", "pseudonymise", "build_output")
_STATUS_LINE = re.compile(r"^([a-z-]+): ldtr (\S+) v(\d+) ")


class KilledRuns:
    """Each kill boundary's run and rerun, made on first use (decision 0866).

    Why: `test_failed_runs_leave_no_identifier.py` killed LDTR after four of these
    stages and reran it to search what was left; this module killed it after six and
    reran it to count deliveries: the same scenario twice per stage, each a kill and a
    rerun. Both tests now assert on one.
    """

    def __init__(self, world: World) -> None:
        self._world = world
        self._made: dict[str, KilledThenRerun] = {}

    def after(self, last: str) -> KilledThenRerun:
        """The run killed right after stage ``last``, and its rerun."""
        if last not in self._made:
            self._made[last] = self._kill_and_rerun(last)
        return self._made[last]

    def _kill_and_rerun(self, last: str) -> KilledThenRerun:
        world = self._world
        period = f"2026-{KILL_AFTER.index(last) + 3:02d}"  # a month of its own per boundary
        source, outbox = world.demo / "fhir-bulk" / "ldtr", world.home / "outbox-kill"
        killed = run_cli(
            ["ldtr", str(source), period, str(outbox), last],
            code=_PARTIAL_RUN,
            env=_env(world),
            timeout=300,
        )
        searched: dict[str, Any] = {}
        if last in LEAK_KILL_AFTER:
            planted = fhir_identity_values(world.demo)
            kept = leaks_left(world, planted, killed.stdout, killed.stderr, outbox=outbox)
            searched["kept_elsewhere"] = outside_private_run_folders(world, kept)
            rerun = run_cli(
                [*_cli_run("ldtr", source, period)[3:], "--outbox", str(outbox)],
                env=_env(world),
                timeout=300,
            )
            searched["rerun"] = rerun
            searched["leaks"] = leaks_left(
                world, planted, rerun.stdout, rerun.stderr, outbox=outbox
            )
            line = _STATUS_LINE.match(rerun.stdout)
            status = (
                (line.group(1), int(line.group(3))) if line and line.group(2) == period else None
            )
            rerun_status = status or (f"exit {rerun.returncode}: {rerun.stdout[:200]}", 0)
        else:
            with world.store() as store:
                result = run_delivery(
                    world.config("ldtr"),
                    world.settings,
                    RunRequest("ldtr", source, Period.parse(period), today=TODAY, outbox=outbox),
                    world.ports(store),
                )
            rerun_status = (result.status, result.version)
        with world.store() as store:
            versions = [(e.version, e.status) for e in load_ledger(store).versions("ldtr", period)]
            contents = [r.to_event() for r in store.read_stream(contents_stream("ldtr", period, 1))]
        placed = outbox / world.settings.provider_id / "ldtr" / period  # decision 0400
        names = [p.name for p in placed.iterdir()] if placed.is_dir() else []
        return KilledThenRerun(period, killed, rerun_status, versions, contents, names, **searched)


@pytest.fixture(scope="module")
def killed_runs(world: World) -> KilledRuns:
    return KilledRuns(world)


@pytest.mark.parametrize("last", KILL_AFTER)
def test_killed_after_any_stage_a_rerun_ends_with_one_delivery_and_its_contents(
    killed_runs: KilledRuns, last: str
) -> None:
    shared = killed_runs.after(last)
    assert shared.killed.returncode == 137, shared.killed.stderr[-2000:]
    expected = "already-handed-over" if last == "deliver" else "handed-over"
    assert shared.rerun_status == (expected, 1)
    assert shared.versions == [(1, "receipted")]
    assert shared.placed == ["v1"]
    contents = shared.contents
    assert contents and {e.parts for e in contents} == {len(contents)}
    assert sum(len(e.patient_refs) for e in contents) > 0


@pytest.mark.parametrize("last", LEAK_KILL_AFTER)
def test_a_run_killed_between_stages_keeps_identifiers_only_privately_until_its_rerun(
    killed_runs: KilledRuns, last: str
) -> None:
    """LDTR (monthly, FHIR) killed after a stage: its rerun finishes and leaves nothing.

    (Was in test_failed_runs_leave_no_identifier.py; shares its runs with the test above,
    decision 0866.)
    """
    shared = killed_runs.after(last)
    assert shared.killed.returncode == 137, shared.killed.stderr[-2000:]
    assert shared.kept_elsewhere == []
    assert shared.rerun is not None
    assert shared.rerun.returncode == 0, shared.rerun.stderr[-2000:]
    assert shared.leaks == []


_TASKS_THEN_RETRY = """
import json, shutil, sys
from datetime import date
from pathlib import Path
from aanlevering.errors import ConfigError
from aanlevering.pipeline.stages import STAGE_NAMES
from aanlevering.runs.steps import run_stage, start_run

source, period, run_id, last = sys.argv[1:5]
summary = start_run("ldtr", period, today=date(2026, 11, 22), input_path=Path(source),
                    run_id=run_id)
run_dir = summary["run_dir"]
for name in STAGE_NAMES[1 : STAGE_NAMES.index(last) + 1]:
    run_stage(name, run_dir, registration_id="ldtr", run_id=run_id)
shutil.rmtree(run_dir, ignore_errors=True)  # removed by the run itself, or by a purge
try:  # Airflow retries confirm_receipt: its worker died before the task was recorded done
    again = run_stage("confirm_receipt", run_dir, registration_id="ldtr", run_id=run_id)
except ConfigError as error:
    print(json.dumps({"error": str(error)}))
else:
    print(json.dumps(again))
"""


@pytest.mark.parametrize(
    ("last", "period"), [("confirm_receipt", "2026-09"), ("deliver", "2026-10")]
)
def test_a_retried_confirmation_after_its_run_folder_is_gone_says_what_happened(
    world: World, last: str, period: str
) -> None:
    """A confirm_receipt retried after its run ended delivered is done; any other is not (0652).

    The task removes the run folder as its last act; a worker killed right after
    that gets the task retried, which found no ``run.json`` and failed the DAG
    run of a delivered period. Its lock's release says the run delivered: the
    retry says so. A folder gone before the confirmation (purged after
    ``deliver``) stays an error: a run is never called delivered from a guess.
    """
    run_id = f"scheduled__{period}-retried-confirmation"
    done = run_cli(
        [str(world.demo / "fhir-bulk" / "ldtr"), period, run_id, last],
        code=_TASKS_THEN_RETRY,
        env=_env(world, AANLEVERING_OUTBOX__LDTR=str(world.home / "outbox-retried")),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.splitlines()[-1])
    if last == "confirm_receipt":
        assert answer["registration"] == "ldtr" and answer["period"] == period
        # Into an outbox: the run released the period as handed over (0820).
        assert answer["status"] == "handed-over" and answer["confirmed_before"] is True
    else:
        assert "error" in answer and "run.json" in answer["error"]
    with world.store() as store:
        versions = load_ledger(store).versions("ldtr", period)
    assert [(e.version, e.status) for e in versions] == [(1, "receipted")]
