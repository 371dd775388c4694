"""A register stop asks the register what the refused run asked it (decision 0960).

A run judges the register on its own day and, when later, on the real day
(0640); the stop of its versions sent without a receipt (0791, 0930) asked
only for the real day. For a run whose day lies in the past (a backfill-like
run of 2026-Q1 with its day on 2 April, judged on the real day in December)
and a register decision taking effect between the two, the stop kept a
version the run had been refused for, or stopped one the run's own check let
pass. Real event log (both backends), the real first stage of a run.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.events import DeliveryAttemptFailed, DeliveryStaged, delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import NoObligation
from aanlevering.events import open_event_store
from aanlevering.obligation.decisions import RegisterDecision
from aanlevering.obligation.service import record_decisions
from aanlevering.periods import Period, run_day
from aanlevering.pipeline import stages
from aanlevering.pipeline.run import Ports
from aanlevering.pipeline.state import MemoryRunState
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
REG = "dica-dsaa"  # before_inclusion: deliver
PERIOD = "2026-Q1"
RUN_DAY = date(2026, 4, 2)  # the backfill-like run's own day; the real day is later


def _first_stage(
    tmp_path: Path, store_url: str, decisions: list[RegisterDecision], period: str = PERIOD
) -> str:
    """``period``'s v1 sent without a receipt; the decisions; the first stage of a run on RUN_DAY.

    Returns the ledger status of v1 after the refused run.
    """
    assert run_day() > RUN_DAY + timedelta(days=60), "the real day must lie after the decisions"
    settings = load_settings(
        {
            "AANLEVERING_DEMO_MODE": "yes",
            "AANLEVERING_HOME": str(tmp_path / "home"),
            "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
            "AANLEVERING_EVENT_STORE": store_url,
        }
    )
    config = load_catalogue(settings.catalogue_dir).get(REG)
    key = f"{settings.provider_id}.{REG}.{period}.v1"
    with open_event_store(store_url) as store:
        store.append(
            delivery_stream(REG, period),
            [
                DeliveryStaged(
                    registration=REG,
                    period=period,
                    version=1,
                    idempotency_key=key,
                    channel="https",
                    format="csv",
                    kind="delivery",
                ),
                DeliveryAttemptFailed(
                    registration=REG,
                    period=period,
                    idempotency_key=key,
                    attempt=1,
                    retryable=True,
                    reason="no answer after the commit",
                ),
            ],
            None,
        )
        record_decisions(store, decisions)
        ports = Ports(store, None, lambda config, folder: OutboxChannel(tmp_path / "out"))  # type: ignore[arg-type]
        state = MemoryRunState(tmp_path / "run-1")
        state.update(
            **stages.initial_values(
                registration_id=REG,
                period=Period.parse(period),
                run_id="1",
                today=RUN_DAY,
                input_path=tmp_path / "export",
                outbox=None,
                allow_open_period=False,
                one_process=True,
            )
        )
        ctx = stages.RunContext.from_values(config, settings, ports, state.values())
        with pytest.raises(NoObligation):
            stages.check_obligation(ctx, state)
        return load_ledger(store).entries[key].status


def test_a_run_refused_on_its_own_day_stops_the_version(tmp_path: Path, store_url: str) -> None:
    """Rejected before the run's day, included again (objection upheld) before the real day.

    The run is refused on its day; the stop asked for the real day only, found
    delivery allowed and kept v1 ``failed`` for a retry that this run was refused.
    """
    decisions = [
        RegisterDecision(REG, "rejected", decided_on=date(2026, 3, 1)),
        RegisterDecision(REG, "objection-upheld", decided_on=date(2026, 6, 1), term_years=5),
    ]
    assert _first_stage(tmp_path, store_url, decisions) == "aborted"


def test_a_run_refused_on_the_real_day_stops_the_version(tmp_path: Path, store_url: str) -> None:
    """Rejected between the run's day and the real day: refused on the real day (0640), stopped."""
    decisions = [RegisterDecision(REG, "rejected", decided_on=date(2026, 6, 1))]
    assert _first_stage(tmp_path, store_url, decisions) == "aborted"


def test_a_run_refused_for_its_period_only_keeps_the_version(
    tmp_path: Path, store_url: str
) -> None:
    """The register refuses on neither day: nothing is stopped, the retry sends v1 again."""
    decisions = [RegisterDecision(REG, "included", decided_on=date(2026, 1, 1), term_years=5)]
    # Q2 has not closed on RUN_DAY: the run is refused for its period, not by the register.
    assert _first_stage(tmp_path, store_url, decisions, "2026-Q2") == "failed"
