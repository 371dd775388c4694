"""The ``period`` a user triggers a delivery DAG with is checked: shape at trigger, range at start.

Airflow validates a run's conf against the DAG's params when the run is
created (UI, REST API, backfill conf), so a period of the wrong shape never
becomes a run; a year outside the calendar (``0000``, ``9999``) is refused by
the first task as bad input (failed, not retried three times with backoff).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, ParamValidationError
from airflow.serialization.serialized_objects import DagSerialization

from aanlevering.airflow import callables
from aanlevering.airflow.factory import registration_dag
from aanlevering.airflow.listing import RegistrationListing, list_registrations
from aanlevering.errors import ConfigError
from aanlevering.periods import Period
from conftest import REPO

REGISTRATIONS = list_registrations(REPO / "schemas" / "catalogue")


def _trigger_params(registration: RegistrationListing) -> Any:
    """The params as the API server holds them: from the serialized DAG, as a run is created."""
    dag = registration_dag(registration)
    return DagSerialization.from_dict(DagSerialization.to_dict(dag)).params


@pytest.mark.parametrize("period", ["2026-Q5", "../x", "2026-13", "x", "2026/Q1", "2026-Q1\n"])
def test_a_period_of_the_wrong_shape_is_refused_when_the_run_is_created(period: str) -> None:
    for registration in REGISTRATIONS:
        params = _trigger_params(registration)
        with pytest.raises(ParamValidationError):
            params.deep_merge({"period": period}).validate()


@pytest.mark.parametrize("period", [None, "2026", "2026-Q1", "2026-01", "2027-12"])
def test_periods_people_type_are_accepted(period: str | None) -> None:
    for registration in REGISTRATIONS:
        params = _trigger_params(registration)
        assert params.deep_merge({"period": period}).validate()["period"] == period


@pytest.mark.parametrize("label", ["0000", "9999", "9999-12", "9999-Q4"])
def test_a_year_outside_the_calendar_is_bad_input(label: str) -> None:
    with pytest.raises(ConfigError, match="is not a year"):
        Period.parse(label)


def test_the_first_task_fails_without_retry_on_a_year_outside_the_calendar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    context = {"params": {"period": "0000"}, "run_id": "manual__2026-04-02T08:00:00+00:00"}
    with pytest.raises(AirflowFailException, match="is not a year"):
        callables.start_run("dica-dsaa", "quarter", context)
    assert not (tmp_path / "home" / "events.sqlite3").exists()
