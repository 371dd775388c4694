"""A retraction stops when the receiver holds a version the log does not know (0460).

The log restored from a backup taken before v2: ``aanlevering retract``
numbered its retraction v2, a key the receiver already holds with content.
Now it asks the receiver first, stops naming both versions, and the log
records v2 as the receiver's, so the next retraction withdraws v2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.periods import Period
from aanlevering.pipeline.receiver_check import ReceiverAhead
from aanlevering.retract import retract_period
from conftest import World
from support.receivers import (
    REGISTRATION,
    TODAY,
    back_up,
    changed_export,
    outbox_receiver,
    restore,
    run,
)


def _key(period: str, version: int) -> str:
    return f"demo-hospital.{REGISTRATION}.{period}.v{version}"


def test_a_retraction_stops_when_the_receiver_holds_a_version_the_log_does_not_know(
    world: World, tmp_path: Path
) -> None:
    period = "2026-Q3"
    receiver = outbox_receiver(world, tmp_path / "outbox")

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

    # Into an outbox: handed over, not delivered (0820).
    assert run(world, receiver, world.demo / "csv-utf8", period).status == "handed-over"
    back_up(world, tmp_path / "before-v2.sqlite3")
    changed = changed_export(world, tmp_path / "x", period, "55")
    assert run(world, receiver, changed, period).version == 2
    restore(world, tmp_path / "before-v2.sqlite3")

    with pytest.raises(ReceiverAhead, match="the event log knows v1, but the receiver") as stop:
        retract()
    assert "Nothing was retracted" in str(stop.value)
    assert set(receiver.supersedes()) == {_key(period, 1), _key(period, 2)}

    # The log now knows v2 is the receiver's: the retraction withdraws it.
    key = retract()
    assert key == _key(period, 3)
    assert receiver.supersedes()[key] == _key(period, 2)
