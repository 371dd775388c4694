"""A retraction takes the period's run lock: it never runs beside a delivery run.

Found attacking decision 0477 (decision 0491): ``aanlevering retract`` took no
lock. A run of the period in its build or deliver stage had planned v2; the
retraction, asked meanwhile, named v1 (the run's v2 not yet receipted) and
was numbered after it, so the registry holder kept the run's v2 as current
while the data engineer was told the period was retracted.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aanlevering.periods import Period
from aanlevering.pipeline.lock import LockScope, RunLocked, acquire, current_holder, release
from aanlevering.retract import retract_period
from conftest import World
from support.receivers import REGISTRATION, TODAY, outbox_receiver, run


def test_a_retraction_stops_while_a_run_holds_the_period_and_releases_its_own_lock(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AANLEVERING_RUN_LOCK_WAIT", "0")
    period = "2026-Q3"
    receiver = outbox_receiver(world, tmp_path / "outbox")
    # Into an outbox: handed over, not delivered (0820).
    assert run(world, receiver, world.demo / "csv-utf8", period).status == "handed-over"
    scope = LockScope(world.settings.provider_id, REGISTRATION, period)

    def retract() -> str:
        with world.store() as store:
            return retract_period(
                world.config(REGISTRATION),
                world.settings,
                Period.parse(period),
                receiver.ports(world, store),
                reason="delivered without a legal basis",
                today=TODAY,
            ).idempotency_key

    with world.store() as store:  # a delivery run of the period is in its deliver stage
        acquire(store, scope, "run-in-deliver", lease=timedelta(hours=1))

    with pytest.raises(RunLocked, match="run-in-deliver"):
        retract()
    assert len(receiver.supersedes()) == 1  # nothing was sent

    with world.store() as store:
        release(store, scope, "run-in-deliver", "delivered")
    key = retract()
    assert key.endswith(".v2")
    with world.store() as store:
        holder = current_holder(store, scope)
    assert holder is not None and holder.run_id == ""  # the retraction let the period go
