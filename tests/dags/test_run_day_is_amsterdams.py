"""A delivery run's day is the day in Amsterdam, not on the worker's clock (decision 0394).

The scheduled run of a period starts at midnight in Amsterdam, 22:00 or 23:00
the day before in UTC. The first task took ``date.today()`` of the worker: on
a worker in UTC the period had "not closed yet", the run was skipped as not
owed, and the period stayed undelivered until someone noticed. The same day
decides which opt-outs are in force and up to which day an open period is
read. The worker runs here in a time zone whose date differs from
Amsterdam's right now, through the real first task.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pendulum

from aanlevering.periods import run_day
from conftest import REPO
from support.time_zones import AMSTERDAM, zone_on_another_day

FIRST_TASK = """
from types import SimpleNamespace
from aanlevering.airflow import callables
context = {"params": {"period": "2026-Q3"}, "run_id": "manual__tz", "dag_run": None}
callables.start_run("dica-dsaa", "quarter", context)
"""


def test_the_scheduled_run_at_midnight_in_amsterdam_has_the_new_day() -> None:
    assert run_day(pendulum.datetime(2026, 3, 31, 22, 30, tz="UTC")).isoformat() == "2026-04-01"
    assert run_day(pendulum.datetime(2026, 12, 31, 23, 0, tz="UTC")).isoformat() == "2027-01-01"
    assert run_day(pendulum.datetime(2026, 3, 31, 21, 59, tz="UTC")).isoformat() == "2026-03-31"


def test_the_first_task_records_amsterdams_day_whatever_the_workers_zone(tmp_path: Path) -> None:
    now = datetime.now(UTC) + timedelta(seconds=5)
    zone = zone_on_another_day(now)
    home = tmp_path / "home"
    env = {
        **os.environ,
        "TZ": zone,
        "AANLEVERING_HOME": str(home),
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
        "AANLEVERING_INPUT__DICA_DSAA": str(tmp_path / "input"),
        "AANLEVERING_TTP_URL": "http://127.0.0.1:9",  # the first task does not reach it
        "AANLEVERING_TTP_API_KEY": "not-used-by-the-first-task",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    done = subprocess.run(
        [sys.executable, "-c", FIRST_TASK],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    after = datetime.now(UTC)
    (state,) = home.rglob("run.json")
    today = json.loads(state.read_text(encoding="utf-8"))["today"]
    assert today in {
        now.astimezone(AMSTERDAM).date().isoformat(),
        after.astimezone(AMSTERDAM).date().isoformat(),
    }
    assert today != after.astimezone(ZoneInfo(zone)).date().isoformat()
