"""A home that lost its opt-out rules file does not fall back to laxer rules in silence.

`<home>/optout-rules.yaml` says from when opt-outs count. A hospital that
applies them from 2026 (stricter than the default 2027 start) and whose home
is wiped or restored without that file would, with the defaults, deliver in
2026 the patients who objected. The event log records the rules every run
applied (`optout.OptOutsApplied.rules`), and survives (decision 0453).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aanlevering.errors import ConfigError
from aanlevering.optout.rules import RULES_FILE
from aanlevering.periods import Period
from aanlevering.pipeline.run import RunRequest, RunResult, run_delivery
from conftest import World

TODAY = date(2026, 11, 22)


def _run(world: World, period: str) -> RunResult:
    with world.store() as store:
        return run_delivery(
            world.config("dica-dsaa"),
            world.settings,
            RunRequest("dica-dsaa", world.demo / "csv-utf8", Period.parse(period), today=TODAY),
            world.ports(store),
        )


def test_a_missing_rules_file_after_runs_with_other_rules_stops_the_run(world: World) -> None:
    from aanlevering.cli.main import main

    rules = world.settings.home / RULES_FILE
    rules.write_text("effective_from: 2026-01-01\n", encoding="utf-8")
    assert main(["optout", "ingest", str(world.demo / "optouts.csv")]) == 0
    first = _run(world, "2026-Q1")
    assert first.status == "delivered" and first.excluded_optouts > 0
    before = world.holder.ledger()

    rules.unlink()  # the home restored from a backup made before the file was written
    with pytest.raises(ConfigError) as refused:
        _run(world, "2026-Q2")
    message = str(refused.value)
    assert str(rules) in message and "effective_from=2026-01-01" in message
    assert world.holder.ledger() == before  # nothing reached the registry holder

    # Writing the defaults down is a deliberate choice, and is followed.
    rules.write_text("effective_from: 2027-01-01\n", encoding="utf-8")
    assert _run(world, "2026-Q2").excluded_optouts == 0
    Path(rules).write_text("effective_from: 2026-01-01\n", encoding="utf-8")
    assert _run(world, "2026-Q3").excluded_optouts > 0
