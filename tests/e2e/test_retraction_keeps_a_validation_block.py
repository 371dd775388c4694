"""A retraction withdraws a delivered version; it leaves the period blocked by validation.

Found after decision 0901 (decision 0931): ``retract`` holds the period's run lock
(0491) and released it with the outcome ``retracted``, which the calendar reads
as the period's last run. v1 was delivered, a run of new data was stopped by
validation, then v1 was retracted: the period is owed again, and its next run
of the data as it is will be blocked again, yet ``status`` showed it merely due,
its validation block gone. A retraction is no run of the period: the calendar
keeps the last run's outcome. Real commands in their own processes, real
registry holder and TTP processes, real event log.
"""

from __future__ import annotations

from aanlevering.obligation.calendar_view import calendars
from aanlevering.periods import run_day
from aanlevering.projections import build_projections
from conftest import CATALOGUE, World

REGISTRATION, PERIOD = "dica-dsaa", "2026-Q2"
WHERE = ["--registration", REGISTRATION, "--period", PERIOD]


def _period_line(world: World) -> str:
    status = world.cli(CATALOGUE, "status", "--registration", REGISTRATION)
    assert status.returncode == 0, status.stderr[-2000:]
    (line,) = [line for line in status.stdout.splitlines() if f" {PERIOD}  " in line]
    return line


def test_a_retraction_leaves_the_validation_block_in_status(world: World) -> None:
    world.include(REGISTRATION)
    delivered = world.cli(CATALOGUE, "run", *WHERE, "--input", str(world.demo / "csv-utf8"))
    assert delivered.returncode == 0, delivered.stderr[-2000:]
    blocked = world.cli(CATALOGUE, "run", *WHERE, "--input", str(world.bad_demo / "csv-utf8"))
    assert blocked.returncode == 1, blocked.stderr[-2000:]

    retracted = world.cli(CATALOGUE, "retract", *WHERE, "--reason", "no legal basis")
    assert retracted.returncode == 0, retracted.stderr[-2000:]

    line = _period_line(world)
    assert line.split()[:3] == ["xx", PERIOD, "blocked"], line
    with world.store() as store:
        document = build_projections(store, world.catalogue, run_day())
    (cell,) = [c for c in calendars(document, REGISTRATION)[0].cells if c.period == PERIOD]
    assert "validation blocked the last run" in cell.hover(), cell.hover()
