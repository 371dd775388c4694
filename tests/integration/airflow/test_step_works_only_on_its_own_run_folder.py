"""A delivery task works only on the run folder of its own registration and DAG run.

Why: the folder reaches a task as XCom (the previous task's return value), and
XCom entries can be created and changed through Airflow's REST API
(``POST``/``PATCH .../xcomEntries``) by anyone allowed to edit a DAG's XCom. A
task of ``deliver-dica-dsaa`` handed another registration's run folder, or
another run's, must refuse it before it opens the event log or touches the
folder, instead of running that run's stage (renewing its lock, sending its
data, removing its staging).

Each task body runs in a process of its own, called with the keyword arguments
Airflow gives it (``determine_kwargs`` on the task context), as a worker does:
forked, with the test's environment, from one process per module that has
imported Airflow's task SDK and ``aanlevering`` (as Airflow 3's supervisor
forks each task's process from a worker that has imported them; decision
0871), so the ten tests pay those imports once instead of ten times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from aanlevering.events.factory import open_event_store
from aanlevering.periods import Period
from aanlevering.pipeline.lock import LockScope, acquire
from aanlevering.pipeline.stages import initial_values
from aanlevering.pipeline.state import GIVEN_RUN_ID, run_folder_path
from aanlevering.runs.folder import RunFolder

REPO = Path(__file__).resolve().parents[3]
PROVIDER = "demo-hospital"
OWN_RUN = "scheduled__2026-04-01T00:00:00+00:00"
OTHER_RUN = "manual__2026-04-02T08:00:00+00:00"

#: One process per module: it imports what a task's process needs once, then for each
#: request (one JSON line on stdin) forks the task's own process, which takes the
#: request's environment, builds the DAG, calls the task body as a worker does and
#: answers on a pipe; the server prints the child's answer and exit status.
SERVER = """\
import json, os, sys, traceback
from pathlib import Path
from airflow.sdk.bases.decorator import determine_kwargs
from airflow.sdk.exceptions import AirflowFailException
from aanlevering.airflow.factory import registration_dag
from aanlevering.airflow.listing import list_registrations

def task(registration, stage, run_dir, run_id, catalogue):
    listing = next(r for r in list_registrations(Path(catalogue)) if r.id == registration)
    body = registration_dag(listing).task_dict[stage].python_callable
    ref = {"run_dir": run_dir, "registration": registration}
    context = {"run_id": run_id, "params": {}, "data_interval_start": None}
    try:
        body(ref, **determine_kwargs(body, [ref], context))
        return ["ran", ""]
    except AirflowFailException as refused:
        return ["failed", str(refused)]

for line in sys.stdin:
    request = json.loads(line)
    read, write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the task's own process
        os.close(read)
        code = 0
        try:
            errors = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(errors, 1)  # what the task prints: its log, not an answer
            os.dup2(errors, 2)
            os.environ.clear()
            os.environ.update(request["env"])
            os.write(write, json.dumps(task(*request["argv"])).encode())
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(write)
    answer = b""
    while chunk := os.read(read, 65536):
        answer += chunk
    os.close(read)
    _, status = os.waitpid(pid, 0)
    print(json.dumps([os.waitstatus_to_exitcode(status), answer.decode()]), flush=True)
"""


def _folder(staging: Path, registration: str, period: str, run_id: str) -> Path:
    """A run folder as start_run makes it (its state names the run id it was given)."""
    path = run_folder_path(staging, PROVIDER, registration, period, run_id)
    RunFolder(path).update(
        **initial_values(
            registration_id=registration,
            period=Period.parse(period),
            run_id=path.name.removeprefix("run-"),
            today=date(2026, 4, 2),
            input_path=staging.parent / "no-input",
            outbox=None,
            allow_open_period=False,
        ),
        **{GIVEN_RUN_ID: run_id},
    )
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return home


class TaskProcesses:
    """The module's server process: ``run`` forks one task process per call (decision 0871)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.log_dir = log_dir
        self.calls = 0
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(log_dir / "server.stderr").open("w"),
            text=True,
        )

    def run(self, home: Path, stage: str, run_dir: Path, run_id: str) -> tuple[str, str]:
        """The task ``stage`` of dica-dsaa in a process of its own: (outcome, message)."""
        env = {
            **os.environ,
            "AANLEVERING_HOME": str(home),
            "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
            "AANLEVERING_PROVIDER_ID": PROVIDER,
            "AIRFLOW_HOME": str(home.parent / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # Endpoints a step needs to open its ports; nothing here is contacted.
            "AANLEVERING_TTP_URL": "http://127.0.0.1:9",
            "AANLEVERING_TTP_API_KEY": "not-used",
        }
        self.calls += 1
        stderr = self.log_dir / f"task-{self.calls}.stderr"
        argv = ["dica-dsaa", stage, str(run_dir), run_id, str(REPO / "schemas" / "catalogue")]
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(
            json.dumps({"argv": argv, "env": env, "stderr": str(stderr)}) + "\n"
        )
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        errors = stderr.read_text(errors="replace") if stderr.exists() else ""
        server = (self.log_dir / "server.stderr").read_text(errors="replace")
        assert line, f"the task server ended (exit {self.process.poll()}):\n{server[-3000:]}"
        returncode, answer = json.loads(line)
        assert returncode == 0, errors[-3000:]
        outcome, message = json.loads(answer)
        return str(outcome), str(message)

    def close(self) -> None:
        """Close its stdin (it ends after the last request); kill it if it does not."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def tasks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaskProcesses]:
    """One server per module; each test's task still runs in a process of its own."""
    log_dir = tmp_path_factory.mktemp("task-processes")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(log_dir / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    server = TaskProcesses(env, log_dir)
    try:
        yield server
    finally:
        server.close()


def _held_by_its_run(home: Path, folder: Path, registration: str, period: str) -> None:
    """The period's run lock taken by the folder's run, as its first stage (start_run) does.

    A later stage only renews the lease of its own run (decision 0477); without
    the lock it stops with LeaseLost before it works on the folder.
    """
    run_id = str(RunFolder(folder).values()["run_id"])
    with open_event_store(f"sqlite:///{home / 'events.sqlite3'}") as store:
        acquire(store, LockScope(PROVIDER, registration, period), run_id)


def _untouched(home: Path, folder: Path, before: dict[str, object]) -> None:
    assert RunFolder(folder).values() == before
    assert not (folder / "work").exists()
    # Refused before the event log was opened: no lock was taken or renewed for anyone.
    assert not (home / "events.sqlite3").exists()


def test_another_registrations_run_folder_is_refused(home: Path, tasks: TaskProcesses) -> None:
    other = _folder(home / "staging", "ldtr", "2026-03", OWN_RUN)
    before = RunFolder(other).values()
    outcome, message = tasks.run(home, "extract", other, OWN_RUN)
    assert outcome == "failed"
    assert "not the run folder of this run" in message
    assert str(other) not in message
    _untouched(home, other, before)


def test_another_runs_folder_of_the_same_registration_is_refused(
    home: Path, tasks: TaskProcesses
) -> None:
    other = _folder(home / "staging", "dica-dsaa", "2026-Q1", OTHER_RUN)
    before = RunFolder(other).values()
    outcome, message = tasks.run(home, "apply_optouts", other, OWN_RUN)
    assert outcome == "failed" and "not the run folder of this run" in message
    _untouched(home, other, before)


def test_a_folder_outside_staging_claiming_to_be_this_run_is_refused(
    home: Path, tasks: TaskProcesses
) -> None:
    # Same registration, period and run id in its run.json, but not under $AANLEVERING_HOME.
    outside = _folder(home.parent / "elsewhere", "dica-dsaa", "2026-Q1", OWN_RUN)
    before = RunFolder(outside).values()
    outcome, message = tasks.run(home, "extract", outside, OWN_RUN)
    assert outcome == "failed" and "not the run folder of this run" in message
    _untouched(home, outside, before)


def test_the_runs_own_folder_is_worked_on(home: Path, tasks: TaskProcesses) -> None:
    own = _folder(home / "staging", "dica-dsaa", "2026-Q1", OWN_RUN)
    _held_by_its_run(home, own, "dica-dsaa", "2026-Q1")
    outcome, message = tasks.run(home, "extract", own, OWN_RUN)
    # Accepted: the step ran (and failed on the missing input, not on the folder).
    assert "not the run folder of this run" not in message
    assert (home / "events.sqlite3").exists()
    assert outcome == "failed" and "no-input" in message


def test_a_hand_over_naming_no_folder_is_refused(home: Path, tasks: TaskProcesses) -> None:
    outcome, message = tasks.run(home, "deliver", Path(""), OWN_RUN)
    assert outcome == "failed" and "not the run folder of this run" in message
    assert not (home / "events.sqlite3").exists()


def test_the_runs_own_folder_without_its_state_says_so(home: Path, tasks: TaskProcesses) -> None:
    # Removed after the receipt (a retried confirm_receipt) or purged: not "someone else's".
    own = _folder(home / "staging", "dica-dsaa", "2026-Q1", OWN_RUN)
    (own / "run.json").unlink()
    outcome, message = tasks.run(home, "confirm_receipt", own, OWN_RUN)
    assert outcome == "failed" and "has no run.json" in message
    assert "not the run folder of this run" not in message


def test_a_state_naming_another_registration_in_this_runs_folder_is_refused(
    home: Path, tasks: TaskProcesses
) -> None:
    own = _folder(home / "staging", "dica-dsaa", "2026-Q1", OWN_RUN)
    RunFolder(own).update(registration="ldtr")
    before = RunFolder(own).values()
    outcome, message = tasks.run(home, "extract", own, OWN_RUN)
    assert outcome == "failed" and "not the run folder of this run" in message
    _untouched(home, own, before)


def _legacy_folder(staging: Path, registration: str, period: str, run_id: str) -> Path:
    """A run folder as start_run named it before decision 0404 (no hash of the run id)."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id) or "_"
    path = staging / PROVIDER / registration / period / f"run-{name}"
    RunFolder(path).update(
        **initial_values(
            registration_id=registration,
            period=Period.parse(period),
            run_id=name,
            today=date(2026, 4, 2),
            input_path=staging.parent / "no-input",
            outbox=None,
            allow_open_period=False,
        )
    )
    return path


def test_a_crafted_run_id_that_once_named_the_same_folder_is_refused(
    home: Path, tasks: TaskProcesses
) -> None:
    # A manual run id made to be what OWN_RUN's folder name used to be (decision 0404).
    crafted = "scheduled__2026-04-01T00_00_00_00_00"
    own = _folder(home / "staging", "dica-dsaa", "2026-Q1", OWN_RUN)
    before = RunFolder(own).values()
    outcome, message = tasks.run(home, "apply_optouts", own, crafted)
    assert outcome == "failed" and "not the run folder of this run" in message
    _untouched(home, own, before)


def test_a_run_folder_made_before_the_hashed_names_is_still_its_runs(
    home: Path, tasks: TaskProcesses
) -> None:
    # A run started before the upgrade continues in the folder it has (decision 0404).
    legacy = _legacy_folder(home / "staging", "dica-dsaa", "2026-Q1", OWN_RUN)
    _held_by_its_run(home, legacy, "dica-dsaa", "2026-Q1")
    outcome, message = tasks.run(home, "extract", legacy, OWN_RUN)
    assert "not the run folder of this run" not in message
    assert outcome == "failed" and "no-input" in message


def test_a_folder_made_since_for_an_id_equal_to_the_old_name_is_not_this_runs(
    home: Path, tasks: TaskProcesses
) -> None:
    # The crafted run's own folder is named as OWN_RUN's was before 0404; it is not OWN_RUN's.
    crafted = "scheduled__2026-04-01T00_00_00_00_00"
    theirs = _folder(home / "staging", "dica-dsaa", "2026-Q1", crafted)
    before = RunFolder(theirs).values()
    outcome, message = tasks.run(home, "apply_optouts", theirs, OWN_RUN)
    assert outcome == "failed" and "not the run folder of this run" in message
    _untouched(home, theirs, before)
