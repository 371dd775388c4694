"""The calendar's last run ignores lock holders that are no run of the period.

Decisions 0930 and 0931: a refused run stopping versions sent without a
receipt (``register-stop``) and a retraction (``retracted``, ``retract-failed``,
and an older retraction's ``failed`` under its ``retract-`` run id) hold the
period's run lock but deliver nothing of it: a period whose last run
validation blocked stays blocked after them. Both backends.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from aanlevering.events import open_event_store
from aanlevering.obligation.run_outcomes import project_run_outcomes
from aanlevering.pipeline.lock import LockScope, acquire, release

SCOPE = LockScope("demo-hospital", "dica-dsaa", "2026-Q2")


@pytest.mark.parametrize(
    ("run_id", "outcome"),
    [
        ("register-stop-1", "register-stop"),
        ("retract-1", "retracted"),
        ("retract-2", "retract-failed"),
        ("retract-3", "failed"),  # released so before decision 0931
    ],
)
def test_a_validation_block_outlasts_a_lock_holder_that_is_no_run(
    store_url: str, run_id: str, outcome: str
) -> None:
    with open_event_store(store_url) as store:
        acquire(store, SCOPE, "run-blocked", lease=timedelta(hours=1))
        release(store, SCOPE, "run-blocked", "validation-blocked")
        acquire(store, SCOPE, run_id, lease=timedelta(hours=1))
        release(store, SCOPE, run_id, outcome)
        last = project_run_outcomes(store.read_all()).outcome("dica-dsaa", "2026-Q2")
    assert last == "validation-blocked"


def test_a_run_after_them_is_the_last_run(store_url: str) -> None:
    with open_event_store(store_url) as store:
        for run_id, outcome in [
            ("run-blocked", "validation-blocked"),
            ("retract-1", "retracted"),
            ("run-2", "delivered"),
        ]:
            acquire(store, SCOPE, run_id, lease=timedelta(hours=1))
            release(store, SCOPE, run_id, outcome)
        last = project_run_outcomes(store.read_all()).outcome("dica-dsaa", "2026-Q2")
    assert last == "delivered"
