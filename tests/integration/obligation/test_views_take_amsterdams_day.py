"""The status, register and opt-out views take today in Amsterdam too (decision 0394).

Decision 0394 made a delivery run's day Amsterdam's; the views an engineer
reads (``status``, ``events rebuild``, the Deliveries page, ``register``,
the opt-out register's default day) still took the machine's date, so on a
server in UTC they showed yesterday's due and overdue periods and opt-outs in
force for an hour or two each night. Run here in a process whose time zone is
on another date than Amsterdam right now.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from support.time_zones import AMSTERDAM, zone_on_another_day

REPO = Path(__file__).resolve().parents[3]


def test_rebuilt_projections_are_as_of_amsterdams_day(tmp_path: Path) -> None:
    now = datetime.now(UTC) + timedelta(seconds=5)
    zone = zone_on_another_day(now)
    home = tmp_path / "home"
    env = {
        **os.environ,
        "TZ": zone,
        "AANLEVERING_HOME": str(home),
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", "events", "rebuild"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    after = datetime.now(UTC)
    (projections,) = home.rglob("projections*.json")
    as_of = json.loads(projections.read_text(encoding="utf-8"))["as_of"]
    assert as_of in {
        now.astimezone(AMSTERDAM).date().isoformat(),
        after.astimezone(AMSTERDAM).date().isoformat(),
    }
    assert as_of != after.astimezone(ZoneInfo(zone)).date().isoformat()
