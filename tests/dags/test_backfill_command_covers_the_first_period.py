"""The backfill command the docs give covers the first period of 2026 (decision 0653).

``airflow backfill create --from-date`` reads a date without an offset in
Airflow's default time zone (UTC unless configured). Every period starts at
midnight in Amsterdam, so the first run's logical date is 2025-12-31 23:00
UTC: a backfill ``--from-date 2026-01-01`` created no run for 2026-Q1 or
2026-01, and none at all for a yearly registration, without a word.
"""

from __future__ import annotations

import re

import pendulum
import pytest
from airflow._shared.timezones.timezone import parse as parsedate
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.encoders import coerce_to_core_timetable
from airflow.timetables.base import TimeRestriction

from aanlevering.airflow.schedule import period_label
from conftest import REPO

COMMAND = re.compile(r"airflow backfill create --dag-id (\S+) --from-date (\S+) --to-date (\S+)")
#: What an engineer types for ``<today>``: a day after 2026 closed.
TODAY = "2027-01-02"
FIRST = {"quarter": "2026-Q1", "month": "2026-01", "year": "2026"}


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(REPO / "dags"))


def _periods(dagbag: DagBag, dag_id: str, frequency: str, start: str, end: str) -> list[str]:
    """The periods of the runs ``airflow backfill create`` makes between these dates."""
    earliest, latest = parsedate(start), parsedate(end.replace("<today>", TODAY))
    core = coerce_to_core_timetable(dagbag.dags[dag_id].timetable)
    restriction = TimeRestriction(earliest=earliest, latest=latest, catchup=True)
    labels, last = [], None
    while True:
        info = core.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None or info.logical_date > latest:
            return labels
        labels.append(period_label(info.data_interval.start, frequency))
        last = info.data_interval


def _frequency(dagbag: DagBag, dag_id: str) -> str:
    return next(t.split(":", 1)[1] for t in dagbag.dags[dag_id].tags if t.startswith("frequency:"))


def test_every_dags_own_backfill_command_starts_with_the_first_period(dagbag: DagBag) -> None:
    delivery = [d for d in dagbag.dags if d.startswith("deliver-")]
    assert delivery
    for dag_id in delivery:
        found = COMMAND.search(dagbag.dags[dag_id].doc_md or "")
        assert found is not None, dag_id
        assert found.group(1) == dag_id
        frequency = _frequency(dagbag, dag_id)
        periods = _periods(dagbag, dag_id, frequency, found.group(2), found.group(3))
        assert periods and periods[0] == FIRST[frequency], (dag_id, periods)


@pytest.mark.parametrize("guide", ["docs/airflow.md", "README.md"])
def test_the_backfill_command_in_the_guides_starts_with_the_first_quarter(
    dagbag: DagBag, guide: str
) -> None:
    found = COMMAND.search((REPO / guide).read_text(encoding="utf-8"))
    assert found is not None
    dag_id, start, end = found.groups()
    periods = _periods(dagbag, dag_id, _frequency(dagbag, dag_id), start, end)
    assert periods[0] == "2026-Q1", periods
    assert pendulum.instance(parsedate(start)) <= pendulum.datetime(
        2026, 1, 1, tz="Europe/Amsterdam"
    )
