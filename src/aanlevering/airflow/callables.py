"""The bodies of the DAG tasks: one call into ``aanlevering`` each, errors mapped to task states.

Imported at parse time, so it imports nothing heavy itself: the run steps
(pyarrow, GX, FHIR models) are imported inside each function, in the worker.

Mapping: NoObligation and AlreadyDelivered end the task (and the rest of the
run) as *skipped*; bad input, blocked validation and a receiver holding a
version the log does not know *fail* without retries (waiting does not fix
them); anything else (TTP or receiver down) fails and is
retried with backoff. An exception the product did not raise on purpose (a
bug) is logged as its traceback without messages and re-raised as
:class:`InternalTaskError`, unchained: its message may quote input (0682).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from aanlevering.airflow.schedule import TIMEZONE, period_label
from aanlevering.errors import (
    NO_ROOM,
    AanleveringError,
    ConfigError,
    ExtractError,
    NoObligation,
    ReceiverAhead,
    ValidationBlocked,
)
from aanlevering.periods import run_day
from aanlevering.pipeline.stages import AlreadyDelivered
from aanlevering.shown_names import install_log_filter, withhold_in_error
from aanlevering.withheld_traceback import exception_line, withheld_traceback

if TYPE_CHECKING:
    from airflow.sdk import Context

    from aanlevering.airflow.connections import AirflowConnections

log = logging.getLogger(__name__)

Summary = dict[str, Any]


class InternalTaskError(RuntimeError):
    """A task failed on an exception the product did not raise on purpose (decision 0682).

    Raised in its place, without chaining it: Airflow logs a failed task's exception
    and its chain with their messages, and a bug's message may quote input.
    """


@contextmanager
def bugs_withheld() -> Iterator[None]:
    """Fail on a bug without its message (decision 0682); product errors pass unchanged.

    Airflow logs a failed task's exception and its chain with their messages; an
    exception the product did not raise on purpose may quote input. Logged here as
    its traceback without messages, then raised as an unchained
    :class:`InternalTaskError` (retried like any other failure).
    """
    try:
        yield
    except AanleveringError as error:
        _detach_bugs(error)
        withhold_in_error(error)  # an input file's name per decision 0730
        raise
    except (AirflowException, AlreadyDelivered):  # AlreadyDelivered: no bug, a skip
        raise
    except Exception as bug:
        log.error("internal error (a bug):\n%s", withheld_traceback(bug).rstrip())
        if isinstance(bug, OSError) and bug.errno in NO_ROOM:  # no bug: the disk (0657)
            raise InternalTaskError(
                f"could not write a file: {exception_line(bug)}; the disk or folder is full "
                "or read-only: free space or make it writable (retried)"
            ) from None
        raise InternalTaskError(
            f"internal error: {exception_line(bug)}; a bug, not a problem with the input "
            "(its traceback, without messages, is logged above)"
        ) from None


def _detach_bugs(error: AanleveringError) -> None:
    """Cut a product error loose from a bug it was raised from, logging the bug's frames.

    ``raise ConfigError(...) from error`` keeps the cause, and Airflow prints a
    failed task's whole chain with messages: pyarrow's or ``int()``'s may quote the
    record. The cause's traceback is logged without messages (0682); the product
    error's own message (places, never values) is what the task fails with.
    """
    cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    if cause is None:
        return
    if isinstance(cause, AanleveringError):
        _detach_bugs(cause)
        return
    log.error("%s was raised from:\n%s", type(error).__name__, withheld_traceback(cause).rstrip())
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True


@contextmanager
def task_outcomes() -> Iterator[None]:
    """Turn product errors into the task states described in the module docstring."""
    install_log_filter()  # the task log: input file names and URLs per 0730/0731
    try:
        with bugs_withheld():
            yield
    except (NoObligation, AlreadyDelivered) as reason:
        log.info("nothing to deliver: %s", reason)
        raise AirflowSkipException(str(reason)) from reason
    except ValidationBlocked as blocked:
        log.error("%s", blocked)
        raise AirflowFailException(str(blocked)) from blocked
    except (ConfigError, ExtractError) as unusable:
        raise AirflowFailException(str(unusable)) from unusable
    except ReceiverAhead as behind:  # an engineer decides (decision 0460); no retries
        log.error("%s", behind)
        raise AirflowFailException(str(behind)) from behind


def credentials() -> AirflowConnections:
    """Endpoints and credentials from Airflow Connections, the environment as fall back."""
    from aanlevering.airflow.connections import AirflowConnections

    return AirflowConnections()


def _last_closed_period(frequency: str, today: date) -> str:
    start = date(today.year, 1, 1)
    if frequency == "quarter":
        start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    elif frequency == "month":
        start = date(today.year, today.month, 1)
    previous_day = start - timedelta(days=1)
    return period_label(
        datetime(previous_day.year, previous_day.month, previous_day.day), frequency
    )


def run_period(
    frequency: str,
    params: Mapping[str, Any],
    data_interval_start: datetime | None,
    today: date,
) -> tuple[str, bool]:
    """The period this run delivers and whether an open period is allowed.

    The ``period`` param (a hand-triggered run, e.g. a year-to-date delivery
    with ``allow_open_period``) wins; otherwise the data interval is the
    period; a manual run without either delivers the last closed period.
    """
    allow_open = bool(params.get("allow_open_period") or False)
    chosen = params.get("period")
    if chosen:
        return str(chosen), allow_open
    if data_interval_start is not None:
        return period_label(data_interval_start, frequency), allow_open
    return _last_closed_period(frequency, today), allow_open


def context_period(frequency: str, context: Mapping[str, Any]) -> tuple[str, bool]:
    """:func:`run_period` of a task's context, the same in every task and callback of the run.

    A run without ``period`` or data interval delivers the period last closed
    when it was triggered (its ``run_after``, in Amsterdam time), not on the
    day a task happens to run: the failure callback must name the period the
    first task chose, and a worker's clock may be in UTC.
    """
    run_after = getattr(context.get("dag_run"), "run_after", None)
    if run_after is not None:
        local = pendulum.instance(run_after).in_timezone(TIMEZONE)
        triggered = date(local.year, local.month, local.day)
    else:
        triggered = run_day()
    return run_period(
        frequency, context.get("params") or {}, context.get("data_interval_start"), triggered
    )


def start_run(registration_id: str, frequency: str, context: Mapping[str, Any]) -> Summary:
    """First task: decide the period from the run, create the run folder, run the first stage."""
    from aanlevering.runs import steps

    today = run_day()
    period, allow_open = context_period(frequency, context)
    run_id = str(context.get("run_id") or "manual")
    with task_outcomes():
        return steps.start_run(
            registration_id,
            period,
            today=today,
            allow_open_period=allow_open,
            run_id=run_id,
            credentials=credentials(),
        )


def release_on_failure(registration_id: str, frequency: str) -> Callable[[Context], None]:
    """A task's ``on_failure_callback``: a run that failed for good gives its period lock up.

    Airflow calls it only when the task will not be retried, so a retried
    step keeps the lock. The period is decided as :func:`start_run` decided it.
    """

    def callback(context: Context) -> None:
        from aanlevering.runs import steps

        period, _ = context_period(frequency, context)
        try:
            steps.release_failed_run(
                registration_id, period, str(context.get("run_id") or "manual")
            )
        except Exception as error:  # a callback must never hide the task's own failure
            log.error(  # without a bug's message, which may quote input (0682)
                "could not release the run lock of %s %s:\n%s",
                registration_id,
                period,
                withheld_traceback(error).rstrip(),
            )

    return callback


def step(name: str, registration_id: str) -> Callable[..., Summary]:
    """The task body for stage ``name``: :func:`aanlevering.runs.steps.run_stage` on the folder.

    The folder comes from XCom, which can be edited: the step works on it only
    when it is this registration's and this DAG run's own (else it fails, no retry).
    """

    def body(ref: Summary, **context: Any) -> Summary:
        from aanlevering.runs import steps

        run_dir = ref.get("run_dir") if isinstance(ref, Mapping) else None
        with task_outcomes():
            return steps.run_stage(
                name,
                str(run_dir or ""),  # no folder named: refused as not this run's
                credentials(),
                registration_id=registration_id,
                run_id=str(context.get("run_id") or "manual"),
            )

    body.__name__ = name
    return body


def required_setting(name: str, what: str) -> str:
    """The environment variable a supporting task reads; a task failure naming it, if unset.

    Why not ``os.environ[name]``: a bare KeyError said nothing of what to set and
    was retried as if the setting could appear by itself.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        raise AirflowFailException(f"{name} is not set: {what}")
    return value


def cli(*argv: str) -> int:
    """Supporting tasks run an ``aanlevering`` command (same code path as by hand)."""
    from aanlevering.cli.main import main

    code = main(list(argv))
    if code != 0:
        raise AirflowFailException(f"aanlevering {' '.join(argv[:2])} exited with {code}")
    return code
