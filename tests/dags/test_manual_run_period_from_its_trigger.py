"""A manual run without a period or data interval delivers the period last closed when it was
triggered, in Dutch time, and its failure callback releases the lock of that same period.

Why: the period was "the last closed one as of the worker's date.today()". A run
triggered on 31 March and failing for good after 1 April (retries back off up
to an hour each) had its callback release the lock of another period than the
one it held (the lock stayed until its lease ran out), and a run triggered just
after midnight in Amsterdam on a worker in UTC delivered the period before.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pendulum

from aanlevering.airflow import callables


def _context(run_after: Any, **extra: Any) -> dict[str, Any]:
    return {
        "params": {},
        "data_interval_start": None,
        "run_id": "manual__x",
        "dag_run": SimpleNamespace(run_after=run_after),
        **extra,
    }


def test_the_period_is_the_one_last_closed_at_the_trigger_in_amsterdam() -> None:
    # 00:30 on 1 April in Amsterdam is 22:30 on 31 March UTC: Q1 has closed.
    context = _context(pendulum.datetime(2026, 3, 31, 22, 30, tz="UTC"))
    assert callables.context_period("quarter", context) == ("2026-Q1", False)
    assert callables.context_period("month", context) == ("2026-03", False)
    # Whenever the task (or its failure callback) runs: the trigger decides.
    earlier = _context(pendulum.datetime(2026, 2, 10, 9, tz="Europe/Amsterdam"))
    assert callables.context_period("quarter", earlier) == ("2025-Q4", False)


def test_a_period_param_and_a_data_interval_still_win() -> None:
    run_after = pendulum.datetime(2026, 3, 31, 22, 30, tz="UTC")
    by_param = _context(run_after, params={"period": "2026-Q2", "allow_open_period": True})
    assert callables.context_period("quarter", by_param) == ("2026-Q2", True)
    interval = pendulum.datetime(2026, 6, 30, 22, tz="UTC")  # 1 July in Amsterdam
    by_interval = _context(run_after, data_interval_start=interval)
    assert callables.context_period("quarter", by_interval) == ("2026-Q3", False)
