"""A delivery DAG's first task without an input setting fails for good, naming it (0705).

Why: a missing setting is not a passing fault; retrying it three times with
backoff only delays the message the engineer needs. Before 0705 the task read
``$AANLEVERING_HOME/demo/clean`` instead and delivered the demo patients.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from aanlevering.airflow import callables


def test_the_first_task_fails_without_retry_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / "demo" / "clean" / "csv-utf8").mkdir(parents=True)  # the folder the old default read
    monkeypatch.setenv("AANLEVERING_HOME", str(home))
    monkeypatch.setenv("AANLEVERING_PROVIDER_ID", "ziekenhuis-oost")
    monkeypatch.delenv("AANLEVERING_INPUT_DIR", raising=False)
    monkeypatch.delenv("AANLEVERING_INPUT__DICA_DSAA", raising=False)
    context = {"params": {"period": "2026-Q1"}, "run_id": "manual__2026-04-02T08:00:00+00:00"}
    with pytest.raises(AirflowFailException, match="AANLEVERING_INPUT__DICA_DSAA"):
        callables.start_run("dica-dsaa", "quarter", context)
    assert not (home / "staging").exists()
    assert not (home / "events.sqlite3").exists()
