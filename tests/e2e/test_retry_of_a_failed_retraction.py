"""The hourly retry of an unreceipted retraction resends the retraction, never the data.

Found red-teaming delivery and its proof: ``retry_unreceipted`` (the
``retry-unreceipted`` DAG) reran every period whose latest version had no
receipt through the delivery run. When that version was a retraction (the
registry holder was down while the hospital withdrew a period delivered
without a legal basis), the retry delivered the period's data again as the
next version, superseding the version the hospital had asked to withdraw,
recorded it "delivered", and the retraction was never sent. Real registry
holder process over HTTP, real TTP, real event log, `aanlevering retract` as a
process stopped while it retried.
"""

from __future__ import annotations

import os
import time

import pytest

from aanlevering.deliver.ledger import LedgerEntry, load_ledger
from aanlevering.runs.retry import retry_unreceipted
from conftest import CATALOGUE, World
from support.forked_cli import start_cli
from support.receivers import REGISTRATION, TODAY, https_receiver, run

PERIOD = "2026-Q1"


def test_a_retraction_the_holder_did_not_receipt_is_retried_as_a_retraction(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = https_receiver(world)
    content = world.demo / "csv-utf8"
    monkeypatch.setenv("AANLEVERING_INPUT__DICA_DSAA", str(content))
    delivered = run(world, receiver, content, PERIOD)
    assert (delivered.status, delivered.version) == ("delivered", 1)

    world.holder.faults(fail_commits=3)  # the registry holder is down
    pending = _retraction_stopped_while_retrying(world)
    world.holder.faults(fail_commits=0)  # ... and answers again

    outcomes = retry_unreceipted(today=TODAY)

    assert [(o.idempotency_key, o.status) for o in outcomes] == [
        (pending.idempotency_key, "retracted")
    ]
    held = receiver.held()
    assert sorted(held) == [delivered.idempotency_key, pending.idempotency_key], (
        "the retry sent something else than the retraction"
    )
    assert receiver.supersedes()[pending.idempotency_key] == delivered.idempotency_key
    with world.store() as store:
        ledger = load_ledger(store)
    latest = ledger.current(REGISTRATION, PERIOD)
    assert latest is not None
    assert (latest.version, latest.kind, latest.status) == (2, "retraction", "receipted")
    assert PERIOD not in ledger.delivered_periods(REGISTRATION)


def _retraction_stopped_while_retrying(world: World) -> LedgerEntry:
    """`aanlevering retract` as a process, stopped (a reboot) after its first failed attempt."""
    with open(os.devnull, "r+b") as nothing:
        process = start_cli(
            [
                "retract",
                "--registration", REGISTRATION, "--period", PERIOD,
                "--reason", "delivered without a legal basis",
            ],
            env={**os.environ, **world.env, "AANLEVERING_CATALOGUE": str(CATALOGUE)},
            stdin=nothing.fileno(),
            stdout=nothing.fileno(),
            stderr=nothing.fileno(),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with world.store() as store:
                pending = load_ledger(store).current(REGISTRATION, PERIOD)
            if pending is not None and pending.attempts:
                break
            assert process.poll() is None, "the retraction ended before its first attempt"
            time.sleep(0.05)
        else:
            raise AssertionError("no failed attempt of the retraction within 60 s")
    finally:
        process.kill()
        process.wait(timeout=10)
    assert (pending.kind, pending.status) == ("retraction", "failed")
    return pending
