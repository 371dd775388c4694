"""A CLI run that fails leaves no kept source resources in its staging folder (1016).

A FHIR extract keeps the records' source resources (their ids and their
``Patient/<id>`` references: a source patient id, often the patient number)
in the run folder's ``work/`` until the output is written. A CLI run (one
process, its tables in memory) that failed after the extract, here for want
of its source key, left ``work/kept-texts-*.arrow`` under
``$AANLEVERING_HOME/staging`` until the staging purge (7 days), though no
process could read it again: a rerun starts a folder of its own. Its
``run.json`` stays for inspection, as before.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"


def test_a_failed_cli_run_removes_its_kept_source_resources(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path),
        "AANLEVERING_HOME": str(home),
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
        "AANLEVERING_DEMO_MODE": "yes",
        "AANLEVERING_TTP_URL": "http://127.0.0.1:9",
        "AANLEVERING_TTP_API_KEY": "failed-run-test-key-0123",
    }
    arguments = ["run", "--registration", "ldtr", "--input", str(NL), "--period", "2026-03"]
    done = subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", *arguments, "--outbox", str(tmp_path / "o")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "source-keys" in done.stderr  # it failed after the extract, before pseudonymising
    assert "stage 2/8 extract done" in done.stderr
    (run,) = (home / "staging").glob("*/ldtr/2026-03/run-*")
    left = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    assert left == ["run.json"]
    assert "pat-1" not in done.stderr + done.stdout
