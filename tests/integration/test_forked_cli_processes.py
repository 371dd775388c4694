"""The tests' forked CLI processes behave as ``python -m aanlevering.cli.main`` does (0955).

The e2e tests trust ``support.forked_cli`` to stand in for a fresh interpreter:
each call its own process, with its own stdin, environment and exit status,
and nothing carried over from an earlier call.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from support.forked_cli import run_cli, start_cli


def _env(home: Path) -> dict[str, str]:
    return {"AANLEVERING_HOME": str(home), "PATH": "/usr/bin:/bin", "AANLEVERING_DEMO_MODE": "yes"}


def test_a_command_reads_its_stdin_and_exits_with_its_own_code(tmp_path: Path) -> None:
    asked = run_cli(
        ["optout", "deliveries", "--mrn", "-"], env=_env(tmp_path), input="12345\n", timeout=120
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip() == "no recorded delivery contained this patient"
    assert "created event log schema" in asked.stderr  # its log lines on its stderr

    wrong = run_cli(["no-such-command"], env=_env(tmp_path), timeout=120)
    assert wrong.returncode == 2
    assert "invalid choice: 'no-such-command'" in wrong.stderr
    assert wrong.stdout == ""


def test_each_process_has_only_the_environment_it_was_given(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    done = run_cli(["optout", "deliveries", "--mrn", "-"], env=_env(first), input="1\n")
    assert done.returncode == 0, done.stderr
    first_log = (first / "events.sqlite3").stat()
    done = run_cli(["optout", "deliveries", "--mrn", "-"], env=_env(second), input="1\n")
    assert done.returncode == 0, done.stderr
    # The second call created its own home and never opened the first call's.
    assert f"created event log schema v1 in {second}" in done.stderr
    assert str(first) not in done.stderr
    assert (first / "events.sqlite3").stat().st_mtime_ns == first_log.st_mtime_ns
    assert sorted(p.name for p in first.iterdir()) == sorted(p.name for p in second.iterdir())


def test_a_killed_process_reports_the_signal_as_subprocess_does(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    log = tmp_path / "log.txt"
    try:
        with log.open("wb") as output:
            process = start_cli(
                ["optout", "deliveries", "--mrn", "-"],
                env=_env(tmp_path),
                stdin=read_end,
                stdout=output.fileno(),
                stderr=output.fileno(),
            )
        # It reads the MRNs to the end of its stdin first: it waits for us now.
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(0.5)
        assert process.poll() is None
        process.send_signal(signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    finally:
        os.close(read_end)
        os.close(write_end)
