"""``aanlevering run`` shows its stages live on a terminal and stays plain everywhere else.

The CLI runs as a real subprocess against the e2e world's TTP and registry
holder: once on a pseudo-terminal (Python's ``pty``), where the live display
must show every stage; once with pipes, where no bar, carriage return or
escape sequence may appear (only log lines per stage); and once on a
terminal inside an Airflow task's environment, which is a log too. No output
may hold an identifier of the input.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from aanlevering.pipeline.stages import STAGE_NAMES
from conftest import World, identity_values
from support.terminal import ESCAPE, run_in_terminal

DEADLINE_SECONDS = 240


def _env(world: World, **extra: str) -> dict[str, str]:
    passed = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    return {**world.env, "PATH": "/usr/bin:/bin", "TERM": "xterm", **passed, **extra}


def _argv(world: World, period: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "aanlevering.cli.main",
        "run",
        "--registration",
        "dica-dsaa",
        "--input",
        str(world.demo / "csv-utf8"),
        "--period",
        period,
    ]


def _no_identifiers(world: World, output: str) -> None:
    _no_identifiers_in(world.demo, output)


def test_a_run_on_a_terminal_shows_each_stage(world: World) -> None:
    code, output = run_in_terminal(_argv(world, "2026-Q1"), _env(world))
    assert code == 0, output[-3000:]
    assert "\x1b[" in output and "\r" in output  # a live display, redrawn in place
    plain = ESCAPE.sub("", output)
    for stage in STAGE_NAMES:
        assert f"✓ {stage} (" in plain, stage  # each stage reported as done, with its time
    assert f"{len(STAGE_NAMES)}/{len(STAGE_NAMES)}" in plain
    assert "dica-dsaa 2026-Q1: done after" in plain
    assert "delivered: dica-dsaa 2026-Q1 v1" in plain
    _no_identifiers(world, output)


def test_a_run_without_a_terminal_writes_plain_log_lines(world: World) -> None:
    done = subprocess.run(
        _argv(world, "2026-Q2"),
        env=_env(world),
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    both = done.stdout + done.stderr
    assert "\x1b" not in both and "\r" not in both  # no bar, no colours, no redraws
    assert "━" not in both and "✓" not in both
    total = len(STAGE_NAMES)
    for position, stage in enumerate(STAGE_NAMES, start=1):
        assert f"dica-dsaa 2026-Q2: stage {position}/{total} {stage} done in " in done.stderr
    assert "delivered: dica-dsaa 2026-Q2 v1" in done.stdout
    _no_identifiers(world, both)


def test_an_airflow_task_on_a_terminal_still_gets_log_lines(world: World) -> None:
    env = _env(world, AIRFLOW_CTX_DAG_ID="retry-unreceipted")
    code, output = run_in_terminal(_argv(world, "2026-Q1"), env)
    assert code == 0, output[-3000:]
    assert "\x1b[" not in output and "━" not in output
    assert "already-delivered: dica-dsaa 2026-Q1" in output
    assert "dica-dsaa 2026-Q1: stopped after" in output  # the run ends early: nothing new
    _no_identifiers(world, output)


def test_demo_data_on_a_terminal_shows_each_registration(tmp_path: Path) -> None:
    passed = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    env = {"PATH": "/usr/bin:/bin", "TERM": "xterm", "AANLEVERING_HOME": str(tmp_path), **passed}
    argv = [sys.executable, "-m", "aanlevering.cli.main", "demo-data", "--patients", "60"]
    code, output = run_in_terminal([*argv, "--out", str(tmp_path / "demo")], env)
    assert code == 0, output[-3000:]
    plain = ESCAPE.sub("", output)
    for registration in ("dica-dsaa", "ldtr", "nkr-borst"):
        assert f"✓ {registration} (" in plain
    assert "3/3" in plain and "demo-data (60 patients each): done after" in plain
    _no_identifiers_in(tmp_path / "demo", output)


def _no_identifiers_in(demo: Path, output: str) -> None:
    leaked = [v for v in identity_values(demo) if len(v) >= 6 and v in output]
    assert leaked == []


def test_validate_on_a_terminal_shows_extract_and_validate(world: World, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "aanlevering.cli.main", "validate", "--registration",
            "dica-dsaa", "--input", str(world.demo / "csv-utf8"), "--period", "2026-Q3",
            "--no-data-docs", "--report-dir", str(tmp_path / "reports")]  # fmt: skip
    code, output = run_in_terminal(argv, _env(world))
    assert code == 0, output[-3000:]
    plain = ESCAPE.sub("", output)
    assert "✓ extract (" in plain and "✓ validate (" in plain
    assert "validate dica-dsaa 2026-Q3: done after" in plain
    _no_identifiers(world, output)
