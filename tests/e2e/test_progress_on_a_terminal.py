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
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from aanlevering.pipeline.stages import STAGE_NAMES
from conftest import World, identity_values

DEADLINE_SECONDS = 240
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


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


def _in_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` with stdin, stdout and stderr on a pseudo-terminal; (exit code, output)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        argv, stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed its end of the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            process.kill()
            raise AssertionError(f"no end in {DEADLINE_SECONDS}s: {b''.join(chunks)[-2000:]!r}")
        code = process.wait(timeout=60)
    finally:
        os.close(leader)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def _no_identifiers(world: World, output: str) -> None:
    _no_identifiers_in(world.demo, output)


def test_a_run_on_a_terminal_shows_each_stage(world: World) -> None:
    code, output = _in_a_terminal(_argv(world, "2026-Q1"), _env(world))
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
    code, output = _in_a_terminal(_argv(world, "2026-Q1"), env)
    assert code == 0, output[-3000:]
    assert "\x1b[" not in output and "━" not in output
    assert "already-delivered: dica-dsaa 2026-Q1" in output
    assert "dica-dsaa 2026-Q1: stopped after" in output  # the run ends early: nothing new
    _no_identifiers(world, output)


def test_demo_data_on_a_terminal_shows_each_registration(tmp_path: Path) -> None:
    passed = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    env = {"PATH": "/usr/bin:/bin", "TERM": "xterm", "AANLEVERING_HOME": str(tmp_path), **passed}
    argv = [sys.executable, "-m", "aanlevering.cli.main", "demo-data", "--patients", "60"]
    code, output = _in_a_terminal([*argv, "--out", str(tmp_path / "demo")], env)
    assert code == 0, output[-3000:]
    plain = ESCAPE.sub("", output)
    for registration in ("dica-dsaa", "ldtr", "nkr-borst"):
        assert f"✓ {registration} (" in plain
    assert "3/3" in plain and "demo-data (60 patients each): done after" in plain
    _no_identifiers_in(tmp_path / "demo", output)


def _no_identifiers_in(demo: Path, output: str) -> None:
    leaked = [v for v in identity_values(demo) if len(v) >= 6 and v in output]
    assert leaked == []
