"""Each example registration's DAG runs end to end with ``dag.test()`` on demo data.

Real TTP and registry holder processes (the e2e ``world``); Airflow on SQLite
in a temporary AIRFLOW_HOME, in one subprocess the module's tests send their
runs to (decision 0830), so Airflow's global settings never reach pytest.
Checks task states, receipts in the ledger and at the receiver, the staging
folder removed after the receipt, a run before 2026 skipped, and no input
identifier in XCom or the task logs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aanlevering.deliver.ledger import load_ledger
from aanlevering.pipeline.stages import STAGE_NAMES
from conftest import World, fhir_identity_values, identity_values
from support.airflow_home import migrated_airflow_db
from support.dag_test_process import DagTestProcess

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
STAGES = list(STAGE_NAMES)

CASES = {
    # dag id, logical date (the period's close, Amsterdam), period delivered
    "dica-dsaa": ("2026-04-01T00:00:00+02:00", "2026-Q1"),
    "ldtr": ("2026-03-01T00:00:00+01:00", "2026-02"),
    "nkr-borst": ("2026-01-01T00:00:00+01:00", "2025"),  # the year before the Wkz: skipped
}
# Supporting DAGs run "today" (the suite's fixed today).


@pytest.fixture(scope="module")
def airflow_env(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    airflow_home = tmp_path_factory.mktemp("airflow-home")
    env = {
        **os.environ,
        **world.env,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AANLEVERING_AIRFLOW_RETRIES": "0",
        "AANLEVERING_INPUT__DICA_DSAA": str(world.demo / "csv-cp1252"),
        "AANLEVERING_INPUT__LDTR": str(world.demo / "csv-utf8"),
        "AANLEVERING_INPUT__NKR_BORST": str(world.demo / "fhir-bulk" / "nkr-borst"),
        "AANLEVERING_OUTBOX__LDTR": str(world.home / "outbox"),
    }
    # What `airflow db migrate` made, migrated once per pytest run (decision 0873).
    migrated_airflow_db(tmp_path_factory, airflow_home)
    for registration in ("ldtr", "nkr-borst"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "aanlevering.cli.main",
                "register",
                "decide",
                "--registration",
                registration,
                "--decision",
                "included",
                "--decided-on",
                "2026-03-01",
                "--effective-from",
                "2026-03-01",
                "--term-years",
                "5",
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return env


@pytest.fixture(scope="module")
def dag_tests(
    airflow_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagTestProcess]:
    """The module's one ``dag.test()`` process (decision 0830), started at its first run."""
    process = DagTestProcess(
        REPO / "dags" / "registrations.py", airflow_env, tmp_path_factory.mktemp("dag-test")
    )
    try:
        yield process
    finally:
        process.close()


def _dag_test(
    runner: DagTestProcess,
    env: dict[str, str],
    registration: str,
    conf: dict[str, object] | None = None,
    *,
    dag_id: str | None = None,
) -> dict:  # type: ignore[type-arg]
    return _dag_tests(runner, env, [(registration, conf, dag_id)])[0]


def _dag_tests(
    runner: DagTestProcess,
    env: dict[str, str],
    runs: list[tuple[str, dict[str, object] | None, str | None]],
) -> list[dict]:  # type: ignore[type-arg]
    """``dag.test()`` of each (registration, conf, dag id) in turn, with ``env``.

    The module's runs share one process: Airflow's import, the DAG file's parse
    and the in-process execution API (about ten seconds of CPU) are paid once
    (decisions 0771, 0830); ``env``'s differences from the module's environment
    hold for these runs only. Each run's result carries the log lines written
    during that run only.
    """
    planned = [
        [
            dag_id or f"deliver-{registration}",
            CASES[registration][0] if registration in CASES else "2026-11-22T06:00:00+01:00",
            conf or {},
        ]
        for registration, conf, dag_id in runs
    ]
    return runner.runs(planned, env)


def _no_identifiers(world: World, text: str) -> None:
    values = identity_values(world.demo) | fhir_identity_values(world.demo)
    leaked = sorted(v for v in values if len(v) >= 6 and v in text)
    assert leaked == [], f"{len(leaked)} input identifier(s) found"


def test_quarterly_https_registration_delivers_its_period_with_a_receipt(
    world: World, airflow_env: dict[str, str], dag_tests: DagTestProcess
) -> None:
    result = _dag_test(dag_tests, airflow_env, "dica-dsaa")
    assert result["state"] == "success", result["tasks"]
    assert result["tasks"] == dict.fromkeys(STAGES, "success")
    with world.store() as store:
        entry = load_ledger(store).current("dica-dsaa", "2026-Q1")
    assert entry is not None and entry.status == "receipted" and entry.receipt_id
    key = "demo-hospital.dica-dsaa.2026-Q1.v1"
    assert key in [e["idempotency_key"] for e in world.holder.ledger()]
    # The delivery events name the actor: this DAG run (NEN 7513 "who").
    with world.store() as store:
        actors = {e.payload.get("actor") for e in store.read_stream("delivery-dica-dsaa-2026-Q1")}
    assert actors and all(str(a).startswith("airflow:deliver-dica-dsaa/") for a in actors), actors
    # The staging folder (identifiers) is gone after the receipt.
    assert (
        list(
            (
                world.settings.staging_dir / world.settings.provider_id / "dica-dsaa" / "2026-Q1"
            ).glob("run-*")
        )
        == []
    )
    # XCom carries references and counts only.
    by_task = {x["task"]: x["value"] for x in result["xcoms"]}
    assert set(by_task) == set(STAGES)
    assert by_task["validate"]["validation_report"].endswith(".html")
    assert by_task["confirm_receipt"]["receipt_id"] == entry.receipt_id
    _no_identifiers(world, json.dumps(result["xcoms"]) + result["log"])

    # Again: same content, already receipted: the rest of the run is skipped.
    again = _dag_test(dag_tests, airflow_env, "dica-dsaa")
    assert again["tasks"]["apply_optouts"] == "skipped"
    assert again["tasks"]["deliver"] == "skipped"
    key = "demo-hospital.dica-dsaa.2026-Q1.v1"
    assert [e["idempotency_key"] for e in world.holder.ledger()].count(key) == 1


def test_blocked_validation_fails_the_validate_task_naming_the_report(
    world: World, airflow_env: dict[str, str], dag_tests: DagTestProcess
) -> None:
    env = {**airflow_env, "AANLEVERING_INPUT__DICA_DSAA": str(world.bad_demo / "csv-utf8")}
    result = _dag_test(dag_tests, env, "dica-dsaa", {"period": "2026-Q2"})
    assert result["state"] == "failed"
    assert result["tasks"]["validate"] == "failed"
    assert result["tasks"]["pseudonymise"] == "upstream_failed"
    assert "validation failed" in result["log"]
    report = world.settings.reports_dir / "dica-dsaa" / "2026-Q2"
    assert f"report: {report}" in result["log"]
    assert list(report.glob("v*/validation-report.html"))
    with world.store() as store:
        assert load_ledger(store).current("dica-dsaa", "2026-Q2") is None
    # A blocked validation needs new data: its staging (identifiers) is removed, on both paths.
    staging = world.settings.staging_dir / world.settings.provider_id / "dica-dsaa" / "2026-Q2"
    assert list(staging.glob("run-*")) == []
    _no_identifiers(world, result["log"])


def test_a_run_that_failed_for_good_gives_its_period_lock_up(
    world: World,
    airflow_env: dict[str, str],
    dag_tests: DagTestProcess,
    tmp_path: Path,
) -> None:
    from aanlevering.pipeline.events import (
        RunLockReleased,
        RunLockTaken,
        run_lock_stream,
    )

    env = {**airflow_env, "AANLEVERING_INPUT__DICA_DSAA": str(tmp_path / "no-such-export")}
    result = _dag_test(dag_tests, env, "dica-dsaa", {"period": "2026-Q3"})
    assert result["state"] == "failed"
    assert result["tasks"]["check_obligation"] == "success"  # it took the lock
    assert result["tasks"]["extract"] == "failed"
    stream = run_lock_stream(world.settings.provider_id, "dica-dsaa", "2026-Q3")
    with world.store() as store:
        events = [r.to_event() for r in store.read_stream(stream)]
    taken = [e for e in events if isinstance(e, RunLockTaken)]
    assert taken, events
    last = events[-1]
    # Without the failure callback the lease would stay for an hour.
    assert isinstance(last, RunLockReleased), events
    assert (last.run_id, last.outcome) == (taken[-1].run_id, "failed")


def test_monthly_registration_delivers_into_its_outbox(
    world: World, airflow_env: dict[str, str], dag_tests: DagTestProcess
) -> None:
    result = _dag_test(dag_tests, airflow_env, "ldtr")
    assert result["tasks"] == dict.fromkeys(STAGES, "success"), result["log"][-3000:]
    with world.store() as store:
        entry = load_ledger(store).current("ldtr", "2026-02")
    assert entry is not None and entry.status == "receipted"
    outbox = world.home / "outbox" / world.settings.provider_id  # decision 0400
    assert (outbox / "ldtr" / "2026-02" / "v1" / "manifest.json").is_file()
    _no_identifiers(world, json.dumps(result["xcoms"]) + result["log"])


def test_yearly_local_mode_registration_skips_2025_and_delivers_2026_year_to_date(
    world: World, airflow_env: dict[str, str], dag_tests: DagTestProcess
) -> None:
    # The extract task reads the FHIR input in two processes (decision 0317): a worker
    # process started from inside an Airflow task. The 2025 run stops before the extract;
    # both share the module's Airflow process, the 2026 run with the parallel settings
    # (decisions 0771, 0830).
    parallel = {
        **airflow_env,
        "AANLEVERING_FHIR_READ_WORKERS": "2",
        "AANLEVERING_FHIR_PARALLEL_MIN_MIB": "0",
    }
    (before,) = _dag_tests(dag_tests, airflow_env, [("nkr-borst", None, None)])
    (ytd,) = _dag_tests(
        dag_tests, parallel, [("nkr-borst", {"period": "2026", "allow_open_period": True}, None)]
    )
    assert before["tasks"]["check_obligation"] == "skipped"
    assert before["tasks"]["extract"] == "skipped"
    assert before["state"] == "success"
    assert "before the registration's start" in before["log"]
    assert "before the registration's start" not in ytd["log"]

    assert ytd["tasks"] == dict.fromkeys(STAGES, "success"), ytd["log"][-3000:]
    assert "read the FHIR input in 2 parts" in ytd["log"], ytd["log"][-3000:]
    assert "read the FHIR input" not in before["log"]
    with world.store() as store:
        entry = load_ledger(store).current("nkr-borst", "2026")
    assert entry is not None and entry.status == "receipted"
    _no_identifiers(world, json.dumps(ytd["xcoms"]) + ytd["log"])


def test_supporting_dags_ingest_optouts_and_rebuild_the_projections(
    world: World, airflow_env: dict[str, str], dag_tests: DagTestProcess
) -> None:
    env = {**airflow_env, "AANLEVERING_OPTOUT_SOURCE": str(world.demo / "optouts.csv")}
    # One request for the three runs (decisions 0771, 0830): each result holds its own log.
    ingest, rebuilt, retry = _dag_tests(
        dag_tests,
        env,
        [
            ("ingest-optouts", None, "ingest-optouts"),
            ("rebuild-projections", None, "rebuild-projections"),
            ("retry-unreceipted", None, "retry-unreceipted"),
        ],
    )
    assert ingest["tasks"] == {"ingest_optouts": "success"}, ingest["log"][-3000:]
    assert "opt-out(s) read" in ingest["log"]
    assert "opt-out(s) read" not in rebuilt["log"] + retry["log"]

    assert rebuilt["tasks"] == {"rebuild_projections": "success", "purge_staging": "success"}
    # Only rebuild-projections writes projections.json (projections.write_projections).
    projections = json.loads((world.settings.home / "projections.json").read_text("utf-8"))
    assert "demo-hospital.dica-dsaa.2026-Q1.v1" in json.dumps(projections)

    assert retry["tasks"] == {"retry_unreceipted": "success"}, retry["log"][-3000:]
    _no_identifiers(world, json.dumps(ingest["xcoms"]) + ingest["log"] + rebuilt["log"])
