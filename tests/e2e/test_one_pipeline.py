"""The CLI and the Airflow task path are one pipeline: the same extract gives the same bytes.

Each path runs in its own processes and its own home (with the same keys, the
same TTP and provider): ``aanlevering run`` runs every stage in one process
with the in-memory state; the task path runs ``start_run`` and then each stage
of ``STAGES`` in a fresh process over the run folder, as Airflow workers do.
Both deliver into an outbox, whose files are compared byte for byte. The task path
reads a FHIR input in two processes (a worker process started from the extract step),
the CLI in one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from aanlevering.pipeline.stages import STAGE_NAMES
from aanlevering.pseudonym.patient_ref import load_or_create_key
from conftest import World
from support.forked_cli import run_cli

PYTHON = sys.executable
AIRFLOW_RUN_ID = "scheduled__2026-12-01T00:00:00+00:00"
TIMESTAMP = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(\+00:00|Z| UTC)?")


def _home(world: World, root: Path) -> dict[str, str]:
    """A fresh hospital home holding the world's keys (so pseudonyms and ids agree)."""
    for lazily_made in ("resource-ids.key", "patient-ref.key"):
        load_or_create_key(world.settings.secrets_dir / lazily_made)
    home = root / "var"
    home.mkdir(parents=True)
    shutil.copytree(world.settings.secrets_dir, home / "secrets")
    return {**os.environ, **world.env, "AANLEVERING_HOME": str(home)}


def _python(env: dict[str, str], code: str) -> str:
    done = run_cli([], code=code, env=env, timeout=600)  # a process of its own (0955)
    assert done.returncode == 0, done.stderr[-3000:]
    if "reads in parts" in code:
        assert "read the FHIR input in 2 parts" in done.stderr, done.stderr[-3000:]
    return done.stdout


#: The FHIR extract of the task path reads its (small) input in two processes (decision 0317);
#: the CLI reads it in one: the same bytes either way.
PARALLEL = {"AANLEVERING_FHIR_READ_WORKERS": "2", "AANLEVERING_FHIR_PARALLEL_MIN_MIB": "0"}
LOG_PARTS = (
    "import logging  # reads in parts\n"
    "logging.basicConfig(level=logging.WARNING)\n"
    "logging.getLogger('aanlevering.extract.fhir_parallel').setLevel(logging.INFO)\n"
)


def _files(outbox: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(outbox)): p.read_bytes() for p in sorted(outbox.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    ("registration", "period", "source"),
    [("dica-dsaa", "2026-Q1", "csv-utf8"), ("ldtr", "2026-02", "fhir-bulk/ldtr")],
)
def test_cli_and_task_steps_deliver_byte_identical_files(
    world: World, tmp_path: Path, registration: str, period: str, source: str
) -> None:
    source_path = world.demo / source
    cli_env = {**_home(world, tmp_path / "cli"), "AANLEVERING_FHIR_READ_WORKERS": "1"}
    cli_outbox = tmp_path / "cli-outbox"
    done = run_cli(
        [
            "run",
            "--registration",
            registration,
            "--input",
            str(source_path),
            "--period",
            period,
            "--outbox",
            str(cli_outbox),
        ],
        env=cli_env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("handed-over: ")  # into an outbox (0820)

    steps_env = {**_home(world, tmp_path / "steps"), **PARALLEL}
    steps_outbox = tmp_path / "steps-outbox"
    steps_env["AANLEVERING_OUTBOX__" + registration.upper().replace("-", "_")] = str(steps_outbox)
    started = json.loads(
        _python(
            steps_env,
            "import json\nfrom pathlib import Path\nfrom aanlevering.runs.steps import start_run\n"
            f"print(json.dumps(start_run({registration!r}, {period!r}, "
            f"input_path=Path({str(source_path)!r}), run_id={AIRFLOW_RUN_ID!r})))",
        ).splitlines()[-1]
    )
    run_dir = started["run_dir"]
    # The readable run id, and a hash of the given one (decision 0404).
    assert "/staging/" in run_dir
    assert re.search(r"/run-scheduled__2026-12-01T00_00_00_00_00@[0-9a-f]{12}$", run_dir)
    pids = set()
    for stage in STAGE_NAMES[1:]:
        reads = LOG_PARTS if stage == "extract" and source.startswith("fhir") else ""
        out = _python(
            steps_env,
            reads + "import json, os\nfrom aanlevering.runs.steps import run_stage\n"
            f"s = run_stage({stage!r}, {run_dir!r})\nprint(json.dumps([os.getpid(), s]))",
        )
        pid, summary = json.loads(out.splitlines()[-1])
        pids.add(pid)
        assert summary["registration"] == registration
    assert len(pids) == len(STAGE_NAMES) - 1  # every stage ran in a process of its own
    assert not Path(run_dir).exists()  # staging (identifiers) removed after the receipt

    cli_files, steps_files = _files(cli_outbox), _files(steps_outbox)
    assert cli_files.keys() == steps_files.keys()
    data_files = [n for n in cli_files if n.endswith((".csv", ".ndjson", ".json"))]
    assert any(n.endswith((".csv", ".ndjson")) for n in data_files)
    for name in cli_files:
        if "/validation-report." in name:
            # The report says when it was made (to the second); everything else must agree.
            assert TIMESTAMP.search(cli_files[name]), name
            cli_text = TIMESTAMP.sub(b"<time>", cli_files[name])
            steps_text = TIMESTAMP.sub(b"<time>", steps_files[name])
            assert cli_text == steps_text, name
        elif name.endswith("receipt.json"):
            # The outbox's receipt of each delivery: its own id and time, the same counts.
            cli_receipt, steps_receipt = json.loads(cli_files[name]), json.loads(steps_files[name])
            assert cli_receipt["record_counts"] == steps_receipt["record_counts"], name
            assert cli_receipt["receipt_id"] != steps_receipt["receipt_id"], name
        elif name.endswith("manifest.json"):
            # The manifest says when it was made; everything else in it must agree.
            cli_manifest, steps_manifest = (
                json.loads(cli_files[name]),
                json.loads(steps_files[name]),
            )
            cli_manifest.pop("created_at"), steps_manifest.pop("created_at")
            # The travelling report differs by its time only (checked above): same names.
            cli_reports, steps_reports = cli_manifest.pop("reports"), steps_manifest.pop("reports")
            assert [r["name"] for r in cli_reports] == [r["name"] for r in steps_reports], name
            assert {r["name"] for r in cli_reports} == {
                "validation-report.json",
                "validation-report.html",
            }
            assert cli_manifest == steps_manifest, name
        else:
            assert cli_files[name] == steps_files[name], name
