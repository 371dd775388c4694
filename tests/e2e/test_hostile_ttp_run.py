"""`aanlevering run` through a TTP that gives two patients one pseudonym: exit 2, nothing delivered.

The tampering proxy of tests/integration/ttp sits in front of the world's real
TTP (decision 0440). The run must stop before anything is built or sent, say
why with counts only, leave no lock behind, and a run through the honest TTP
afterwards delivers.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import World, identity_values
from support.forked_cli import run_cli
from support.servers import PYTHON, ServerProcess, running_server

SCRIPT = Path(__file__).resolve().parents[1] / "integration" / "ttp" / "tampering_ttp.py"


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-run") / "plan.json"


@pytest.fixture(scope="module")
def hostile(world: World, plan_file: Path) -> Iterator[ServerProcess]:
    plan_file.write_text("{}")
    with running_server(
        [
            *(PYTHON, str(SCRIPT), "--port", "{port}", "--upstream", world.ttp.url),
            *("--plan-file", str(plan_file)),
        ],
        log_path=plan_file.with_name("tampering.log"),
    ) as server:
        yield server


def _run(world: World, ttp_url: str, outbox: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(
        [
            "run",
            *("--registration", "dica-dsaa", "--input", str(world.demo / "csv-utf8")),
            *("--period", "2026-Q1", "--outbox", str(outbox)),
        ],
        env={
            **world.env,
            "AANLEVERING_TTP_URL": ttp_url,
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),  # this checkout's code
        },
        timeout=300,
    )


def test_one_pseudonym_for_two_patients_stops_the_run_before_delivery(
    world: World, hostile: ServerProcess, plan_file: Path, tmp_path: Path
) -> None:
    plan_file.write_text(json.dumps({"mode": "same", "type": "NGGV", "batch": 0}))
    stopped = _run(world, hostile.url, tmp_path)
    assert stopped.returncode == 2, stopped.stderr[-2000:]
    assert "1 NGGV pseudonym(s) of key version 1 were given to more than one" in stopped.stderr
    assert "nothing from this run may be delivered" in stopped.stderr
    said = stopped.stdout + stopped.stderr
    assert not [value for value in identity_values(world.demo) if value in said]
    assert not list(tmp_path.rglob("*"))  # nothing landed in the outbox

    plan_file.write_text(json.dumps({"mode": "none"}))
    honest = _run(world, hostile.url, tmp_path)
    assert honest.returncode == 0, honest.stderr[-2000:]
    assert [p.parent.name for p in tmp_path.rglob("receipt.json")] == ["v1"]
