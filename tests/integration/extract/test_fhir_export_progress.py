"""``aanlevering fhir-export`` on a terminal shows its steps against a real bulk-export server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bulk_support import BulkServer

from support.terminal import ESCAPE, run_in_terminal

Start = Callable[..., BulkServer]


def _argv(server: BulkServer, out: Path) -> list[str]:
    return [sys.executable, "-m", "aanlevering.cli.main", "fhir-export",
            "--base-url", server.base_url, "--out", str(out)]  # fmt: skip


def _env(tmp_path: Path) -> dict[str, str]:
    passed = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    return {"PATH": "/usr/bin:/bin", "TERM": "xterm", "AANLEVERING_HOME": str(tmp_path), **passed}


def test_each_step_shows_on_a_terminal_and_not_in_a_pipe(
    tmp_path: Path, bulk_server: Start
) -> None:
    server = bulk_server("--polls", "2", "--retry-after", "0")
    code, output = run_in_terminal(_argv(server, tmp_path / "a"), _env(tmp_path), seconds=120)
    assert code == 0, output[-2000:]
    plain = ESCAPE.sub("", output)
    for step in ("kick-off", "wait", "download"):
        assert f"✓ {step} (" in plain, step
    assert "fhir-export: done after" in plain and "exported to" in plain

    piped = subprocess.run(
        _argv(server, tmp_path / "b"),
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr[-2000:]
    assert "\x1b" not in piped.stderr + piped.stdout and "✓" not in piped.stderr
    assert "fhir-export: stage 3/3 download done in " in piped.stderr
