"""A retraction withdraws the version the receiver holds, not the log's last receipt (0461).

v1 receipted; v2 sent and committed by the receiver, but its receipt never
reached the log (pending: staged, attempts failed). ``aanlevering retract``
took the latest version the ledger knew as receipted (v1) and sent a
retraction superseding v1, leaving v2 at the receiver named by nothing. Now
it asks the receiver and the retraction supersedes v2. For each channel:
HTTPS, outbox and SFTP.
"""

from __future__ import annotations

from pathlib import Path

from aanlevering.deliver.ledger import load_ledger
from aanlevering.periods import Period
from aanlevering.retract import retract_period
from conftest import World
from support.receivers import (
    REGISTRATION,
    TODAY,
    Receiver,
    https_receiver,
    outbox_receiver,
    sftp_receiver,
    v2_held_but_pending_in_the_log,
)
from support.sshd import SftpServer


def _key(period: str, version: int) -> str:
    return f"demo-hospital.{REGISTRATION}.{period}.v{version}"


def _retract(world: World, receiver: Receiver, period: str) -> str:
    with world.store() as store:
        receipt = retract_period(
            world.config(REGISTRATION),
            world.settings,
            Period.parse(period),
            receiver.ports(world, store),
            reason="delivered without a legal basis",
            today=TODAY,
        )
    return receipt.idempotency_key


def _retraction_supersedes_the_pending_v2(
    world: World, receiver: Receiver, tmp_path: Path, period: str
) -> None:
    v2_held_but_pending_in_the_log(world, receiver, tmp_path, period)

    key = _retract(world, receiver, period)

    assert key == _key(period, 3)
    assert receiver.supersedes()[key] == _key(period, 2), "v2 is what the receiver holds"
    with world.store() as store:
        retraction = load_ledger(store).versions(REGISTRATION, period)[-1]
    assert (retraction.kind, retraction.status) == ("retraction", "receipted")
    assert retraction.supersedes == _key(period, 2)


def test_https_retraction_supersedes_the_pending_version(world: World, tmp_path: Path) -> None:
    _retraction_supersedes_the_pending_v2(world, https_receiver(world), tmp_path, "2026-Q1")


def test_outbox_retraction_supersedes_the_pending_version(world: World, tmp_path: Path) -> None:
    receiver = outbox_receiver(world, tmp_path / "outbox")
    _retraction_supersedes_the_pending_v2(world, receiver, tmp_path, "2026-Q2")


def test_sftp_retraction_supersedes_the_pending_version(
    world: World, sftp_server: SftpServer, tmp_path: Path
) -> None:
    with sftp_receiver(world, sftp_server, tmp_path / "holder") as receiver:
        _retraction_supersedes_the_pending_v2(world, receiver, tmp_path, "2026-Q3")
