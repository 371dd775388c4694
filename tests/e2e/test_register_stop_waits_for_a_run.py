"""A register stop of a version sent without a receipt never acts beside a run of the period.

Found attacking decision 0791 (decision 0930): a run refused by the register
stops the period's versions that went out without a receipt (``DeliveryAborted``,
hospital report "may have arrived, retract it") without the period's run lock.
The register rejected the registration, a retry was refused and read v1 as
``failed``; meanwhile the objection was upheld and a run of the period (its own
process, holding the lock) sent v1 again and got its receipt. The refused retry
then recorded the abort of a version the holder had receipted and rewrote its
report to "aborted, delivered 0, retract it" while the log counts it delivered.
The run starts exactly between the refused retry's ledger read and its append
(a hook on that read, no sleeps); the stop now holds the lock, so the run stops
with RunLocked, nothing sent, and the report says what the log holds.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from aanlevering.deliver.ledger import DeliveryLedgerView, load_ledger
from aanlevering.events.store import EventStore
from aanlevering.obligation.decisions import DecisionKind, RegisterDecision
from aanlevering.obligation.service import record_decisions
from aanlevering.periods import run_day
from aanlevering.pipeline import stopped_versions
from aanlevering.runs.retry import retry_unreceipted
from conftest import CATALOGUE, World

REGISTRATION, PERIOD = "dica-dsaa", "2026-Q2"


def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it, in its own process; a held lock is not waited for."""
    return world.cli(CATALOGUE, *args, env={"AANLEVERING_RUN_LOCK_WAIT": "0"})


def _decide(world: World, kind: DecisionKind) -> None:
    day = run_day()
    term = 5 if kind == "objection-upheld" else None
    decision = RegisterDecision(REGISTRATION, kind, decided_on=day, term_years=term)
    with world.store() as store:
        record_decisions(store, [decision])


def _report(world: World) -> dict[str, Any]:
    path = world.settings.reports_dir / REGISTRATION / PERIOD / "v1" / "hospital-report.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_a_register_stop_during_a_run_aborts_nothing_the_run_receipts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.include(REGISTRATION)
    key = f"{world.settings.provider_id}.{REGISTRATION}.{PERIOD}.v1"
    deliver = ["run", "--registration", REGISTRATION, "--period", PERIOD]
    deliver += ["--input", str(world.demo / "csv-utf8")]
    world.holder.faults(fail_commits=5)  # every commit answered 500: v1 ends failed
    try:
        first = _cli(world, *deliver)
    finally:
        world.holder.faults(fail_commits=0)
    assert first.returncode != 0, first.stdout
    _decide(world, "rejected")

    raced: list[subprocess.CompletedProcess[str]] = []
    real_read: Callable[[EventStore, str, str], DeliveryLedgerView] = (
        stopped_versions.load_period_ledger
    )

    def read_then_raced(store: EventStore, registration: str, period: str) -> DeliveryLedgerView:
        read = real_read(store, registration, period)
        if not raced:  # the objection is upheld and a run of the period sends v1 again
            _decide(world, "objection-filed")
            _decide(world, "objection-upheld")
            raced.append(_cli(world, *deliver))
        return read

    monkeypatch.setattr(stopped_versions, "load_period_ledger", read_then_raced)
    outcomes = retry_unreceipted(today=run_day())
    assert [(o.idempotency_key, o.status) for o in outcomes] == [(key, "no-obligation")]
    (during,) = raced

    with world.store() as store:
        entry = load_ledger(store).entries[key]
        aborted_after_receipt = _aborted_after_receipt(store, key)
    report = _report(world)["delivery"]
    # Whatever won, the report says what the log holds, and no receipted version is aborted.
    assert report["status"] == {"receipted": "delivered"}.get(entry.status, entry.status), (
        report,
        entry.status,
        during.returncode,
    )
    assert not aborted_after_receipt, entry
    # The stop held the period: the run stopped for it, nothing sent.
    assert during.returncode == 2, (during.stdout, during.stderr[-2000:])
    assert "is held by a register stop" in during.stderr, during.stderr[-2000:]  # 0960
    assert entry.status == "aborted"
    assert "may have arrived" in report["what_to_do"]


def _aborted_after_receipt(store: EventStore, key: str) -> bool:
    """Whether the log holds a DeliveryAborted of ``key`` recorded after its receipt."""
    receipted = False
    for record in store.read_stream(f"delivery-{REGISTRATION}-{PERIOD}"):
        if record.payload.get("idempotency_key") != key:
            continue
        if record.event_type == "deliver.DeliveryReceipted":
            receipted = True
        elif record.event_type == "deliver.DeliveryAborted" and receipted:
            return True
    return False
