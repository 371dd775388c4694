"""A period held by a version without record keys is named "not checked" by a later run.

Its own module, so its own world: the event log's Q1 must hold only the
version of an older release (no digests), which the module of
tests/e2e/test_records_across_periods.py cannot give after its other tests
delivered Q1 (decisions 0465, 0496).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from aanlevering.periods import Period
from aanlevering.pipeline.run import RunRequest, RunResult, run_delivery
from conftest import World

TODAY = date(2026, 11, 22)


def _run(world: World, period: str, source: Path) -> RunResult:
    with world.store() as store:
        return run_delivery(
            world.config("dica-dsaa"),
            world.settings,
            RunRequest("dica-dsaa", source, Period.parse(period), today=TODAY),
            world.ports(store),
        )


def test_a_period_delivered_without_record_keys_is_named_unchecked_in_the_run(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Q1 held by a version of a release before 0465 (no digests): Q2 says it was not checked."""
    from aanlevering.deliver.events import DeliveryReceipted, DeliveryStaged, delivery_stream

    key = f"{world.settings.provider_id}.dica-dsaa.2026-Q1.v1"
    with world.store() as store:
        store.append(
            delivery_stream("dica-dsaa", "2026-Q1"),
            [
                DeliveryStaged(
                    registration="dica-dsaa", period="2026-Q1", version=1,
                    idempotency_key=key, channel="https", format="csv",
                ),
                DeliveryReceipted(
                    registration="dica-dsaa", period="2026-Q1", version=1,
                    idempotency_key=key, receipt_id="r-old", receiver="dica",
                    channel="https", received_at="2026-04-15T00:00:00+00:00",
                ),
            ],
            None,
        )  # fmt: skip
    result = _run(world, "2026-Q2", world.demo / "csv-utf8")
    assert result.status == "delivered"
    assert result.accounting["unchecked_periods"] == ["2026-Q1"]
    from aanlevering.cli.main import main

    capsys.readouterr()
    assert main(["status", "--registration", "dica-dsaa"]) == 0
    assert "not checked against 2026-Q1" in capsys.readouterr().out
    hospital = json.loads(Path(result.validation_reports["hospital"]).read_text("utf-8"))
    assert hospital["accounting"]["unchecked_periods"] == ["2026-Q1"]
