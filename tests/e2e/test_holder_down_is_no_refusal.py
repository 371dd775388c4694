"""A registry holder that was down for every attempt did not refuse the delivery.

Found red-teaming delivery and its proof: the delivery service recorded the
last of its attempts as not retryable whatever failed, so a holder that
answered 5xx (or nothing) to every attempt left the version "rejected" in
the ledger: `aanlevering status` and the Deliveries page showed the period
blocked, "the registry holder refused version 1", and the hourly
retry-unreceipted DAG skipped it, although nothing had been refused and the
send_with_retries contract says such a delivery is retried by a later run.
Real registry holder process over HTTP, real TTP, real event log.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import DeliveryError
from aanlevering.obligation.calendar_view import calendars
from aanlevering.projections import build_projections
from aanlevering.runs.retry import retry_unreceipted
from conftest import World
from support.receivers import REGISTRATION, TODAY, changed_export, https_receiver, run

PERIOD = "2026-Q2"


def test_a_delivery_the_holder_never_answered_stays_to_retry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = https_receiver(world)
    content = world.demo / "csv-utf8"
    monkeypatch.setenv("AANLEVERING_INPUT__DICA_DSAA", str(content))
    world.holder.faults(fail_commits=5)  # every attempt of the run: HTTP 500
    with pytest.raises(DeliveryError, match="not receipted after 5 attempts"):
        run(world, receiver, content, PERIOD)

    with world.store() as store:
        entry = load_ledger(store).current(REGISTRATION, PERIOD)
        document = build_projections(store, world.catalogue, TODAY)
    assert entry is not None and (entry.status, entry.attempts) == ("failed", 5)
    (calendar,) = calendars(document, REGISTRATION)
    (cell,) = [c for c in calendar.cells if c.period == PERIOD]
    assert cell.state.value != "blocked", cell.reason
    assert "refused" not in cell.reason
    assert receiver.held() == {}

    outcomes = retry_unreceipted(today=TODAY)  # the holder answers again

    assert [(o.idempotency_key, o.status) for o in outcomes] == [
        (entry.idempotency_key, "delivered")
    ]
    assert sorted(receiver.held()) == [entry.idempotency_key]
    with world.store() as store:
        assert load_ledger(store).current(REGISTRATION, PERIOD).status == "receipted"  # type: ignore[union-attr]


def test_the_retry_sends_what_the_failed_run_read_not_the_default_input(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A one-off ``--input`` export whose send failed is retried from that export (0665).

    The default input holds another export meanwhile; before 0665 the retry read
    it and delivered its content as a new version over the one the hospital sent.
    """
    period = "2026-Q3"
    receiver = https_receiver(world)
    special = changed_export(world, tmp_path / "special", period, "99")
    monkeypatch.setenv("AANLEVERING_INPUT__DICA_DSAA", str(world.demo / "csv-utf8"))
    world.holder.faults(fail_commits=5)
    with pytest.raises(DeliveryError, match="not receipted after 5 attempts"):
        run(world, receiver, special, period)
    with world.store() as store:
        entry = load_ledger(store).current(REGISTRATION, period)
    assert entry is not None and (entry.status, entry.version) == ("failed", 1)

    outcomes = retry_unreceipted(today=TODAY)

    assert [(o.idempotency_key, o.status) for o in outcomes] == [
        (entry.idempotency_key, "delivered")
    ], outcomes
    assert entry.idempotency_key in receiver.held()
    with world.store() as store:
        current = load_ledger(store).current(REGISTRATION, period)
    assert current is not None
    assert (current.version, current.status) == (1, "receipted")
    assert current.idempotency_key == entry.idempotency_key


def test_the_retry_refuses_when_the_failed_runs_input_is_gone(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The export a failed run read was removed: the retry fails naming it, sends nothing."""
    period = "2026-Q1"
    receiver = https_receiver(world)
    special = changed_export(world, tmp_path / "special", period, "98")
    monkeypatch.setenv("AANLEVERING_INPUT__DICA_DSAA", str(world.demo / "csv-utf8"))
    world.holder.faults(fail_commits=5)
    with pytest.raises(DeliveryError, match="not receipted after 5 attempts"):
        run(world, receiver, special, period)
    with world.store() as store:
        entry = load_ledger(store).current(REGISTRATION, period)
    assert entry is not None and entry.status == "failed"
    held = set(receiver.held())
    shutil.rmtree(special)

    outcomes = retry_unreceipted(today=TODAY)

    (outcome,) = [o for o in outcomes if o.idempotency_key == entry.idempotency_key]
    assert outcome.status == "failed"
    assert str(special) in outcome.detail and "no longer" in outcome.detail, outcome.detail
    assert set(receiver.held()) == held
    with world.store() as store:
        current = load_ledger(store).current(REGISTRATION, period)
    assert current is not None and (current.version, current.status) == (1, "failed")
