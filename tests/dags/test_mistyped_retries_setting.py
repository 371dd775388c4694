"""``AANLEVERING_AIRFLOW_RETRIES`` is read when the DAGs are built, and a mistyped one is named.

Before, the factory turned the text into a number while it was imported:
``three`` broke ``dags/registrations.py`` with a bare ``ValueError`` (every DAG
gone, no word of which setting), and a value set after the import was never
seen at all.
"""

from __future__ import annotations

import pytest

from aanlevering.airflow.factory import build_dags
from aanlevering.errors import ConfigError
from conftest import REPO

CATALOGUE = REPO / "schemas" / "catalogue"


def test_the_retry_count_is_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AANLEVERING_AIRFLOW_RETRIES", "1")
    dags = build_dags(CATALOGUE)
    assert dags["deliver-dica-dsaa"].default_args["retries"] == 1
    assert dags["ingest-optouts"].default_args["retries"] == 1
    monkeypatch.delenv("AANLEVERING_AIRFLOW_RETRIES")
    assert build_dags(CATALOGUE)["deliver-dica-dsaa"].default_args["retries"] == 3


@pytest.mark.parametrize("text", ["three", "-1", "2.5"])
def test_a_mistyped_retry_count_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("AANLEVERING_AIRFLOW_RETRIES", text)
    with pytest.raises(ConfigError) as refused:
        build_dags(CATALOGUE)
    assert str(refused.value) == (
        f"AANLEVERING_AIRFLOW_RETRIES must be a whole number of at least 0, not {text!r}"
    )
