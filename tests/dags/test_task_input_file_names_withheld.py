"""A failed task names no per-patient input file, in its exception, chain or log (0730).

Airflow writes a failed task's exception with its chain and the task's log lines
to the task log. A product error names the file it could not read; an EHR that
exports a file per patient names it after the patient.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from aanlevering.airflow import callables
from aanlevering.errors import ExtractError, TTPError

log = logging.getLogger("aanlevering.extract.test")


def test_a_failed_task_names_the_folder_not_the_per_patient_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for name in ("Condition.ndjson", "consent-ZH-0072318.ndjson"):
        (tmp_path / name).write_text("{}\n", encoding="utf-8")
    path = tmp_path / "consent-ZH-0072318.ndjson"

    with pytest.raises(AirflowFailException) as raised, callables.task_outcomes():
        log.info("reading %s", path)
        raise ExtractError(f"{path}: line 3: not a JSON object")

    printed = "".join(traceback.format_exception(raised.value)) + caplog.text
    assert "0072318" not in printed
    assert f"{tmp_path}/<input file 2 of 2, .ndjson, name withheld>: line 3" in str(raised.value)


def test_a_retried_task_error_names_no_per_patient_file(tmp_path: Path) -> None:
    path = tmp_path / "patient_1990-05-17_jansen.json"
    with pytest.raises(TTPError) as raised, callables.task_outcomes():
        raise TTPError(f"the TTP refused the records of {path}")
    printed = "".join(traceback.format_exception(raised.value))
    assert "1990-05-17" not in printed and "jansen" not in printed
    assert "name withheld" in printed
