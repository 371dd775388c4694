"""Policy for every DAG in ``dags/`` (after mozilla/telemetry-airflow): parse cleanly,
carry owner, namespaced tags, retries with backoff, docs, one run at a time,
and start on 2026-01-01 in Dutch time; parsing imports nothing heavy.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pendulum
import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.encoders import coerce_to_core_timetable
from airflow.timetables.base import TimeRestriction

from aanlevering.airflow.listing import list_registrations
from aanlevering.airflow.schedule import period_label
from aanlevering.airflow.tags import is_valid_tag
from aanlevering.pipeline.stages import STAGE_NAMES, STAGES
from conftest import REPO

DAGS = REPO / "dags"
CATALOGUE = REPO / "schemas" / "catalogue"
HEAVY = (
    "great_expectations",
    "pyarrow",
    "fhir",
    "pandas",
    "aanlevering.pipeline.operations",
    "aanlevering.pipeline.run",
    "aanlevering.runs",
)


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}


def test_one_delivery_dag_per_registration_and_the_supporting_dags(dagbag: DagBag) -> None:
    registrations = {r.id for r in list_registrations(CATALOGUE)}
    assert len(registrations) >= 3
    expected = {f"deliver-{r}" for r in registrations} | {
        "ingest-register-decisions",
        "ingest-optouts",
        "retry-unreceipted",
        "rebuild-projections",
    }
    assert set(dagbag.dag_ids) == expected


def test_every_dag_follows_the_policy(dagbag: DagBag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert all(is_valid_tag(t) for t in dag.tags), (dag_id, dag.tags)
        assert dag.doc_md and len(dag.doc_md) > 200, dag_id
        assert dag.max_active_runs == 1, dag_id
        assert dag.start_date == pendulum.datetime(2026, 1, 1, tz="Europe/Amsterdam"), dag_id
        assert str(dag.timezone.name) == "Europe/Amsterdam", dag_id
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", (dag_id, task.task_id)
            if task.task_id != "validate":
                assert task.retries >= 1, (dag_id, task.task_id)
                assert task.retry_exponential_backoff, (dag_id, task.task_id)
                assert task.max_retry_delay is not None, (dag_id, task.task_id)


def test_delivery_dags_mirror_the_stages_and_the_registration(dagbag: DagBag) -> None:
    for registration in list_registrations(CATALOGUE):
        dag = dagbag.dags[f"deliver-{registration.id}"]
        # One declaration of the stages: the DAG's tasks are STAGES, in order, by name.
        assert [t.task_id for t in dag.topological_sort()] == list(STAGE_NAMES)
        assert STAGE_NAMES[0] == "check_obligation" and STAGE_NAMES[-1] == "confirm_receipt"
        no_retry = {s.name for s in STAGES if not s.retries}
        assert {t.task_id for t in dag.tasks if t.retries == 0} == no_retry == {"validate"}
        assert dag.catchup is True
        assert {t.owner for t in dag.tasks} == {registration.owner}
        assert f"registration:{registration.id}" in dag.tags
        assert f"holder:{registration.registry_holder_id}" in dag.tags
        assert f"format:{registration.format}" in dag.tags
        assert dag.task_dict["validate"].retries == 0
        assert set(dag.params) == {"period", "allow_open_period"}
        assert "airflow backfill create" in (dag.doc_md or "")


def test_runs_cover_calendar_periods_from_2026_in_amsterdam_time(dagbag: DagBag) -> None:
    frequency_of = {r.id: r.frequency for r in list_registrations(CATALOGUE)}
    first = {
        "quarter": ("2026-Q1", pendulum.datetime(2026, 4, 1, tz="Europe/Amsterdam")),
        "month": ("2026-01", pendulum.datetime(2026, 2, 1, tz="Europe/Amsterdam")),
        "year": ("2026", pendulum.datetime(2027, 1, 1, tz="Europe/Amsterdam")),
    }
    for registration, frequency in frequency_of.items():
        dag = dagbag.dags[f"deliver-{registration}"]
        core = coerce_to_core_timetable(dag.timetable)
        info = core.next_dagrun_info(last_automated_data_interval=None, restriction=_restriction())
        assert info is not None
        start, end = info.data_interval.start, info.data_interval.end
        label, closes = first[frequency]
        assert period_label(start, frequency) == label
        assert start == pendulum.datetime(2026, 1, 1, tz="Europe/Amsterdam")
        assert end == closes  # midnight in Amsterdam, across the DST change
        # A run starts only after its period closed.
        assert info.run_after >= end


def _restriction() -> TimeRestriction:
    return TimeRestriction(
        earliest=pendulum.datetime(2026, 1, 1, tz="Europe/Amsterdam"), latest=None, catchup=True
    )


def test_quarter_period_of_an_april_interval_in_utc_is_q2() -> None:
    # Midnight 1 April in Amsterdam is 22:00 on 31 March UTC.
    start = pendulum.datetime(2026, 3, 31, 22, tz="UTC")
    assert period_label(start, "quarter") == "2026-Q2"
    assert period_label(start, "month") == "2026-04"


def test_parsing_the_dag_file_imports_nothing_heavy() -> None:
    script = (
        "import importlib.util, json, sys\n"
        f"file = {str(DAGS / 'registrations.py')!r}\n"
        "spec = importlib.util.spec_from_file_location('registrations', file)\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == []
    assert "aanlevering.airflow.factory" in loaded
