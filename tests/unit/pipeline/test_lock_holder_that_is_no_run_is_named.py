"""A run turned away by a lock holder that is no run is told what holds the period (0960).

A register stop (0930), a retraction (0491) and the hand-over commands (0901)
hold the period's run lock as runs do; a run they turned away said the
period "is being delivered by run register-stop-...", naming a register stop
as a delivery run. It now says what holds the period and to wait and run
again. Both backends.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from aanlevering.events import open_event_store
from aanlevering.pipeline.lock import LockScope, RunLocked, acquire

SCOPE = LockScope("demo-hospital", "dica-dsaa", "2026-Q2")


@pytest.mark.parametrize(
    ("prefix", "named"),
    [
        ("register-stop", "a register stop"),
        ("retract", "a retraction (aanlevering retract)"),
        ("confirm-upload", "the hand-over command aanlevering confirm-upload"),
        ("abandon-handover", "the hand-over command aanlevering abandon-handover"),
    ],
)
def test_a_holder_that_is_no_run_is_named_for_what_it_is(
    store_url: str, prefix: str, named: str
) -> None:
    holder = f"{prefix}-{uuid.uuid4()}"
    with open_event_store(store_url) as store:
        acquire(store, SCOPE, holder, lease=timedelta(hours=1))
        with pytest.raises(RunLocked) as refused:
            acquire(store, SCOPE, "run-2", lease=timedelta(hours=1))
    message = str(refused.value)
    assert f"is held by {named}" in message, message
    assert "being delivered by run" not in message, message
    assert "wait" in message and "run it again" in message, message
    assert holder in message, message  # the holder's id, to find it in the event log


def test_a_run_is_still_named_as_a_run(store_url: str) -> None:
    with open_event_store(store_url) as store:
        acquire(store, SCOPE, "manual__2026-12-07", lease=timedelta(hours=1))
        with pytest.raises(RunLocked, match="being delivered by run manual__2026-12-07"):
            acquire(store, SCOPE, "run-2", lease=timedelta(hours=1))
