"""A CLI run that fails or is killed leaves no kept source resources in staging (1016, 1017).

A FHIR extract keeps the records' source resources (their ids and their
``Patient/<id>`` references: a source patient id, often the patient number)
in the run folder's ``work/`` until the output is written. A CLI run (one
process, its tables in memory) that failed after the extract, here for want
of its source key, left ``work/kept-texts-*.arrow`` under
``$AANLEVERING_HOME/staging`` until the staging purge (7 days), though no
process could read it again: a rerun starts a folder of its own. Its
``run.json`` stays for inspection, as before. A run killed with SIGKILL
cannot clean up: the next run's extract removes its ``work/``, and leaves
an Airflow run's alone (its later tasks read it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TMPDIR": str(tmp_path),
        "AANLEVERING_HOME": str(tmp_path / "home"),
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
        "AANLEVERING_DEMO_MODE": "yes",
        "AANLEVERING_TTP_URL": "http://127.0.0.1:9",  # not reached: no source key
        "AANLEVERING_TTP_API_KEY": "failed-run-test-key-0123",
    }


def _arguments(tmp_path: Path, period: str) -> list[str]:
    return [
        *("-m", "aanlevering.cli.main", "run", "--registration", "ldtr"),
        *("--input", str(NL), "--period", period, "--outbox", str(tmp_path / "o")),
    ]


def _run(tmp_path: Path, period: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *_arguments(tmp_path, period)],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_failed_cli_run_removes_its_kept_source_resources(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = _run(tmp_path, "2026-03")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "source-keys" in done.stderr  # it failed after the extract, before pseudonymising
    assert "stage 2/8 extract done" in done.stderr
    (run,) = (home / "staging").glob("*/ldtr/2026-03/run-*")
    left = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    assert left == ["run.json"]
    assert "pat-1" not in done.stderr + done.stdout


#: An Airflow run's first two tasks, then its failure for good (the lock given back).
AIRFLOW = """
import sys
from pathlib import Path
from aanlevering.runs.steps import release_failed_run, run_stage, start_run
started = start_run("ldtr", "2026-04", input_path=Path(sys.argv[1]), run_id="scheduled-1")
run_stage("extract", started["run_dir"])
release_failed_run("ldtr", "2026-04", "scheduled-1")
"""


def _kept(home: Path, period: str) -> list[Path]:
    work = (home / "staging").glob(f"*/ldtr/{period}/run-*/work/*.arrow")
    return [file for file in work if file.stat().st_size > 0]


def test_the_next_run_removes_the_work_of_a_killed_cli_run_not_of_an_airflow_run(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    env = _env(tmp_path)
    airflow = subprocess.run(
        [sys.executable, "-c", AIRFLOW, str(NL)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert airflow.returncode == 0, airflow.stderr[-2000:]
    assert _kept(home, "2026-04")
    process = subprocess.Popen(
        [sys.executable, *_arguments(tmp_path, "2026-03")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not _kept(home, "2026-03") and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        process.kill()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    (killed,) = {file.parent.parent for file in _kept(home, "2026-03")}

    done = _run(tmp_path, "2026-02")  # the next run: its extract finds nothing in February
    assert done.returncode == 3, done.stderr[-2000:]
    assert "nothing to deliver for 2026-02" in done.stderr
    assert not (killed / "work").exists() and (killed / "run.json").exists()
    assert _kept(home, "2026-04")  # the Airflow run's work is its later tasks'
    assert "removed the work folder (kept source resources) of 1 run(s)" in done.stderr
    assert "pat-1" not in done.stderr + done.stdout
