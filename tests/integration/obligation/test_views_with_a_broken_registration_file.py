"""``status`` and ``events rebuild`` with one broken registration file: the rest shown.

Runs and DAGs tolerate a broken registration file (decisions 0420, 0421); these two
views refused the whole catalogue, so one engineer's typo hid every registration's
calendar and stopped the hourly rebuild (and the staging purge after it). Now they
show the registrations that load, name the broken file, and exit 2 (decision 0474).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def broken(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A home and a copy of the catalogue whose dica-dsaa.yaml is no YAML."""
    catalogue = tmp_path / "catalogue"
    shutil.copytree(REPO / "schemas" / "catalogue", catalogue)
    file = catalogue / "registrations" / "dica-dsaa.yaml"
    file.write_text("id: dica-dsaa\nname: [unclosed\n", encoding="utf-8")
    env = {
        **os.environ,
        "AANLEVERING_HOME": str(tmp_path / "home"),
        "AANLEVERING_CATALOGUE": str(catalogue),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    return env, file


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_status_shows_the_others_and_names_the_broken_file(
    broken: tuple[dict[str, str], Path],
) -> None:
    env, file = broken
    done = _cli(env, "status", "--on", "2026-11-22")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "ldtr  [" in done.stdout and "nkr-borst  [" in done.stdout
    assert "dica-dsaa  [" not in done.stdout
    assert str(file) in done.stderr
    assert "shown: the registrations that load" in done.stderr


def test_events_rebuild_writes_the_others_and_names_the_broken_file(
    broken: tuple[dict[str, str], Path],
) -> None:
    env, file = broken
    done = _cli(env, "events", "rebuild", "--on", "2026-11-22")
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stdout.startswith("rebuilt ")
    (projections,) = Path(env["AANLEVERING_HOME"]).rglob("projections*.json")
    registrations = json.loads(projections.read_text(encoding="utf-8"))["registrations"]
    assert "ldtr" in registrations and "dica-dsaa" not in registrations
    assert str(file) in done.stderr
