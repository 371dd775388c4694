"""A retraction the log learns from the receiver is a retraction, not a delivery (0456).

Found auditing decision 0460: when a run found the registry holder ahead of
a restored log, the log recorded each later version (`DeliveryVersionTaken`)
without its kind, and the ledger counted a retraction held by the holder as
a delivery: the calendar showed the period delivered while the registry
holder held a retraction (decision 0345 says the period is owed again).
Real registry holder process over HTTPS, an outbox and a real sshd inbox
(whose version folders keep their manifest), real event log restored from a copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.deliver.handoff import confirm_upload
from aanlevering.deliver.ledger import load_ledger
from aanlevering.periods import Period, run_day
from aanlevering.pipeline.receiver_check import ReceiverAhead
from aanlevering.retract import retract_period
from conftest import World
from support.receivers import (
    REGISTRATION,
    TODAY,
    Receiver,
    back_up,
    finished,
    https_receiver,
    outbox_receiver,
    restore,
    run,
    sftp_receiver,
)
from support.sshd import SftpServer


def test_a_retraction_the_https_holder_holds_leaves_the_period_owed(
    world: World, tmp_path: Path
) -> None:
    _a_taken_retraction_leaves_the_period_owed(world, https_receiver(world), tmp_path, "2026-Q1")


def test_a_retraction_in_the_outbox_leaves_the_period_owed(world: World, tmp_path: Path) -> None:
    receiver = outbox_receiver(world, tmp_path / "outbox")
    _a_taken_retraction_leaves_the_period_owed(world, receiver, tmp_path, "2026-Q2")


def test_a_retraction_in_the_sftp_inbox_leaves_the_period_owed(
    world: World, sftp_server: SftpServer, tmp_path: Path
) -> None:
    with sftp_receiver(world, sftp_server, tmp_path / "holder") as receiver:
        _a_taken_retraction_leaves_the_period_owed(world, receiver, tmp_path, "2026-Q3")


def _a_taken_retraction_leaves_the_period_owed(
    world: World, receiver: Receiver, tmp_path: Path, period: str
) -> None:
    content = world.demo / "csv-utf8"
    assert run(world, receiver, content, period).status == finished(receiver)
    back_up(world, tmp_path / "before-retraction.sqlite3")
    with world.store() as store:
        retracted = retract_period(
            world.config(REGISTRATION),
            world.settings,
            Period.parse(period),
            receiver.ports(world, store),
            reason="delivered without a legal basis",
            today=TODAY,
        )
    restore(world, tmp_path / "before-retraction.sqlite3")

    with pytest.raises(ReceiverAhead, match="the event log knows v1"):
        run(world, receiver, content, period)

    with world.store() as store:
        ledger = load_ledger(store)
    taken = ledger.current(REGISTRATION, period)
    assert taken is not None and taken.idempotency_key == retracted.idempotency_key
    assert taken.kind == "retraction"
    assert period not in ledger.delivered_periods(REGISTRATION)

    # Owed again: the next run delivers the period as v3, superseding the retraction.
    again = run(world, receiver, content, period)
    assert (again.status, again.version) == (finished(receiver), 3)
    if receiver.name == "outbox":  # placed for a manual upload: delivered once confirmed (0794)
        with world.store() as store:
            assert period not in load_ledger(store).delivered_periods(REGISTRATION)
            confirm_upload(
                store, world.settings.provider_id, REGISTRATION, period, 3, received_on=run_day()
            )
    with world.store() as store:
        assert period in load_ledger(store).delivered_periods(REGISTRATION)
