"""A task that fails on a bug fails without the bug's message, in the log or the exception (0682).

Airflow 3 writes a failed task's exception, with its chain and their messages,
to the task log. A product error names places, never values; an exception the
product did not raise on purpose may quote input (pyarrow quotes the record it
could not parse). The task logs the traceback without messages and fails with
an unchained ``InternalTaskError`` naming the type; Airflow retries it as before.
"""

from __future__ import annotations

import errno
import io
import logging
import traceback
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from aanlevering.airflow import callables
from aanlevering.errors import ExtractError, TTPError
from aanlevering.pipeline.stages import AlreadyDelivered

PLANTED = ("ZH-100234", "999911120", "Vliet-Kwaadsteniet", "02-03-1950", "1012 NX")


def _read_damaged_record() -> None:
    data = ("a;b;c;d;e\n" + ";".join(PLANTED) + ";extra\n").encode()
    pacsv.read_csv(io.BytesIO(data), parse_options=pacsv.ParseOptions(delimiter=";"))


def test_a_bug_in_a_task_reaches_the_task_log_without_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(callables.InternalTaskError) as raised, callables.task_outcomes():
        _read_damaged_record()

    # everything Airflow prints of the failure: the exception, its chain, the log lines
    printed = "".join(traceback.format_exception(raised.value)) + caplog.text
    assert [value for value in PLANTED if value in printed] == []
    assert "pyarrow.lib.ArrowInvalid" in str(raised.value)
    assert "_read_damaged_record" in caplog.text  # where the bug is stays known


def test_product_errors_keep_their_task_states() -> None:
    with pytest.raises(AirflowFailException, match="line 3"), callables.task_outcomes():
        raise ExtractError("export.csv: line 3: malformed CSV")
    with pytest.raises(TTPError, match="down"), callables.task_outcomes():  # retried as before
        raise TTPError("the TTP is down")


def test_the_retry_task_guard_withholds_a_bugs_message_and_passes_product_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``bugs_withheld`` alone, as the hourly retry task uses it around its periods."""
    with pytest.raises(callables.InternalTaskError) as raised, callables.bugs_withheld():
        _read_damaged_record()
    printed = "".join(traceback.format_exception(raised.value)) + caplog.text
    assert [value for value in PLANTED if value in printed] == []
    with pytest.raises(ExtractError, match="line 3"), callables.bugs_withheld():
        raise ExtractError("export.csv: line 3: malformed CSV")


def test_a_full_disk_in_a_task_is_said_without_the_file_name(tmp_path: Path) -> None:
    """Not "a bug" (decision 0657), and the file's name (it may name a patient) is left out."""
    name = tmp_path / "bundle-ZH-100234.json"
    with pytest.raises(callables.InternalTaskError) as raised, callables.task_outcomes():
        raise OSError(errno.ENOSPC, "No space left on device", str(name))
    assert "disk or folder is full" in str(raised.value)
    assert "ZH-100234" not in "".join(traceback.format_exception(raised.value))


def test_a_product_error_raised_from_a_bug_fails_without_the_bugs_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``raise ConfigError(...) from error``: Airflow would print the cause's message too."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AirflowFailException, match="line 3") as raised, callables.task_outcomes():
        try:
            _read_damaged_record()
        except Exception as error:
            raise ExtractError("export.csv: line 3: malformed CSV") from error
    printed = "".join(traceback.format_exception(raised.value)) + caplog.text
    assert [value for value in PLANTED if value in printed] == []
    assert "_read_damaged_record" in caplog.text  # the cause's frames stay known


def test_an_already_delivered_period_still_skips_the_rest_of_the_run() -> None:
    """AlreadyDelivered is no AanleveringError, yet no bug: the task is skipped, not failed."""
    with pytest.raises(AirflowSkipException, match="v1"), callables.task_outcomes():
        raise AlreadyDelivered("2026-Q1 v1 was receipted before", {"version": 1})
