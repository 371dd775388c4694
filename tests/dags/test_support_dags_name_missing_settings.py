"""The ingest DAGs name the setting they miss, and fail without retries.

Before, an unset ``AANLEVERING_REGISTER_FEED`` or ``AANLEVERING_OPTOUT_SOURCE``
failed the daily task with a bare ``KeyError`` and was retried three times
(docs/airflow.md names the variables, but the task log did not say what to set).
"""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from aanlevering.airflow.factory import build_dags
from conftest import REPO

CATALOGUE = REPO / "schemas" / "catalogue"


@pytest.mark.parametrize(
    ("dag_id", "task_id", "setting"),
    [
        ("ingest-register-decisions", "ingest_decisions", "AANLEVERING_REGISTER_FEED"),
        ("ingest-optouts", "ingest_optouts", "AANLEVERING_OPTOUT_SOURCE"),
    ],
)
def test_an_unset_source_fails_the_task_naming_it(
    monkeypatch: pytest.MonkeyPatch, dag_id: str, task_id: str, setting: str
) -> None:
    monkeypatch.delenv(setting, raising=False)
    task = build_dags(CATALOGUE)[dag_id].task_dict[task_id]
    with pytest.raises(AirflowFailException, match=f"^{setting} is not set: "):
        task.python_callable()  # type: ignore[attr-defined]
    monkeypatch.setenv(setting, "  ")
    with pytest.raises(AirflowFailException, match=f"^{setting} is not set: "):
        task.python_callable()  # type: ignore[attr-defined]
