"""A version stopped by a guard after it was sent may be at the registry holder: say so.

Red team, accounting (decision 0752): the registry holder stored v1 but its
receipt was lost on the way back; before the next attempt a negative register
decision arrived and the guard stopped the run (``DeliveryAborted``). The ledger
showed v1 ``aborted``, the status flag of decision 0644 looks at receipted
versions only, and nothing told the engineer that the holder may hold data it
has no legal basis for. Real registry holder and TTP processes, real event log.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date

import pytest

from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import NoObligation
from aanlevering.obligation.decisions import RegisterDecision
from aanlevering.obligation.service import record_decisions
from aanlevering.periods import Period, run_day
from aanlevering.pipeline.run import RunRequest, start_state
from aanlevering.pipeline.stages import STAGES, RunContext, execute_stage
from aanlevering.pipeline.state import MemoryRunState
from aanlevering.projections import build_projections
from conftest import World

TODAY = date(2026, 11, 22)
REGISTRATION, PERIOD = "dica-dsaa", "2026-Q2"


def _reject_once_held(world: World, key: str, done: threading.Event) -> None:
    """Record a negative decision as soon as the registry holder holds ``key``."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if key in {e["idempotency_key"] for e in world.holder.ledger()}:
            day = run_day()
            with world.store() as store:
                decision = RegisterDecision(
                    REGISTRATION, "rejected", decided_on=day, effective_from=day
                )
                record_decisions(store, [decision])
            done.set()
            return
        time.sleep(0.05)


def test_a_version_stopped_after_it_was_sent_says_it_may_be_at_the_holder(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from aanlevering.cli.main import main

    config = world.config(REGISTRATION)
    request = RunRequest(REGISTRATION, world.demo / "csv-utf8", Period.parse(PERIOD), today=TODAY)
    key = f"{world.settings.provider_id}.{REGISTRATION}.{PERIOD}.v1"
    with world.store() as store:
        state = start_state(MemoryRunState, config, world.settings, request)
        ctx = RunContext.from_values(config, world.settings, world.ports(store), state.values())
        for stage in STAGES[: [s.name for s in STAGES].index("deliver")]:
            execute_stage(stage, ctx, state)
        report = json.loads(
            (
                world.settings.reports_dir / REGISTRATION / PERIOD / "v1" / "hospital-report.json"
            ).read_text("utf-8")
        )
        world.holder.faults(drop_receipt=100)  # stored at the registry holder, no receipt back
        rejected = threading.Event()
        watcher = threading.Thread(target=_reject_once_held, args=(world, key, rejected))
        watcher.start()
        try:
            with pytest.raises(NoObligation):
                execute_stage(STAGES[-2], ctx, state)
        finally:
            watcher.join(timeout=70)
            world.holder.faults(drop_receipt=0)
        assert rejected.is_set()
        entry = load_ledger(store).entries[key]
        document = build_projections(store, world.catalogue, run_day())
    assert (entry.status, entry.attempts >= 1) == ("aborted", True)
    assert key in {e["idempotency_key"] for e in world.holder.ledger()}  # it did arrive

    (row,) = [d for d in document["deliveries"] if d["idempotency_key"] == key]
    assert "may have arrived" in str(row.get("sent_without_receipt")), row
    assert row["accounting"]["delivered"] == 0
    from aanlevering.airflow.deliveries_page import render

    page = render(document, world.settings.reports_dir, REGISTRATION)
    assert "sent-without-receipt" in page and "may have arrived" in page

    capsys.readouterr()
    main(["status", "--registration", REGISTRATION])
    out = capsys.readouterr().out
    lines = out.splitlines()
    (at,) = [i for i, line in enumerate(lines) if f" {PERIOD} v1 aborted " in line]
    warning = " ".join(lines[at + 1 : at + 3])
    assert "may have arrived at the registry holder" in warning, out
    assert "aanlevering retract --registration dica-dsaa --period 2026-Q2" in warning, out

    after = json.loads(
        (
            world.settings.reports_dir / REGISTRATION / PERIOD / "v1" / "hospital-report.json"
        ).read_text("utf-8")
    )
    assert report["delivery"]["status"] == "staged"
    assert after["delivery"]["status"] == "aborted"
    assert "may have arrived" in after["delivery"]["what_to_do"]
    assert after["accounting"]["delivered"] == 0
