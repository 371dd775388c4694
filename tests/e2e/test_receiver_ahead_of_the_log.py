"""A log restored behind the receiver never says "already delivered" (decision 0460).

Deliver v1 with content Y, back up the event log, deliver v2 with content X,
restore the backup and run Y again: the log alone said "already delivered
v1" (exit 0) while the registry holder's current version was v2 with X. Now
the run asks the receiver first and stops, naming registration, period, the
version the log knows and the one the receiver holds; the next run delivers
Y as v3, superseding v2. For each channel: HTTPS, outbox and SFTP.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.cli.main import main
from aanlevering.pipeline.receiver_check import ReceiverAhead, ReceiverNotAsked
from conftest import World
from support.receivers import (
    REGISTRATION,
    Receiver,
    back_up,
    changed_export,
    finished,
    https_receiver,
    outbox_receiver,
    restore,
    run,
    sftp_receiver,
)
from support.sshd import SftpServer


def _listings(world: World) -> int:
    """How often the registry holder was asked which versions it holds (its audit trail)."""
    lines = (world.holder.home / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    listing = "/registrations/{registration}/deliveries"
    return sum(json.loads(line)["endpoint"] == listing for line in lines)


def _key(period: str, version: int) -> str:
    return f"demo-hospital.{REGISTRATION}.{period}.v{version}"


def _restored_log_reruns_y(world: World, receiver: Receiver, tmp_path: Path, period: str) -> None:
    content_y = world.demo / "csv-utf8"
    first = run(world, receiver, content_y, period)
    assert (first.status, first.version) == (finished(receiver), 1)
    back_up(world, tmp_path / "last-week.sqlite3")
    second = run(world, receiver, changed_export(world, tmp_path / "x", period, "77"), period)
    assert (second.status, second.version) == (finished(receiver), 2)
    assert set(receiver.held()) == {_key(period, 1), _key(period, 2)}
    restore(world, tmp_path / "last-week.sqlite3")

    with pytest.raises(ReceiverAhead) as stopped:
        run(world, receiver, content_y, period)

    message = str(stopped.value)
    assert REGISTRATION in message and period in message
    assert "the event log knows v1" in message and f"holds v2 ({_key(period, 2)}" in message
    assert "aanlevering run" in message and "aanlevering retract" in message
    assert stopped.value.exit_code != 0
    assert set(receiver.held()) == {_key(period, 1), _key(period, 2)}  # nothing sent

    # The log now knows v2 is the receiver's: the next run delivers Y as v3 over it.
    third = run(world, receiver, content_y, period)
    assert (third.status, third.version) == (finished(receiver), 3)
    assert receiver.supersedes()[_key(period, 3)] == _key(period, 2)
    assert receiver.held()[_key(period, 3)] == receiver.held()[_key(period, 1)]


def test_https_restored_log_does_not_say_already_delivered(world: World, tmp_path: Path) -> None:
    _restored_log_reruns_y(world, https_receiver(world), tmp_path, "2026-Q1")


def test_outbox_restored_log_does_not_say_already_delivered(world: World, tmp_path: Path) -> None:
    _restored_log_reruns_y(world, outbox_receiver(world, tmp_path / "outbox"), tmp_path, "2026-Q2")


def test_sftp_restored_log_does_not_say_already_delivered(
    world: World, sftp_server: SftpServer, tmp_path: Path
) -> None:
    with sftp_receiver(world, sftp_server, tmp_path / "holder") as receiver:
        _restored_log_reruns_y(world, receiver, tmp_path, "2026-Q3")


def test_a_holder_that_cannot_be_asked_is_no_already_delivered(world: World) -> None:
    receiver = https_receiver(world)
    content_y = world.demo / "csv-utf8"
    run(world, receiver, content_y, "2026-Q1")  # delivered, or delivered before
    before = _listings(world)
    agreed = run(world, receiver, content_y, "2026-Q1")
    assert agreed.status == "already-delivered"  # log and holder agree: the cheap path
    assert _listings(world) == before + 1  # one question per run
    world.holder.stop()
    try:
        with pytest.raises(ReceiverNotAsked, match="could not be asked") as down:
            run(world, receiver, content_y, "2026-Q1")
    finally:
        world.holder.start()
    assert "nothing is reported delivered" in str(down.value)
    assert down.value.exit_code != 0


def test_the_cli_exits_2_naming_both_versions_and_what_to_do(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = https_receiver(world)
    content_y = world.demo / "csv-utf8"
    run(world, receiver, content_y, "2026-Q1")  # delivered, or delivered before
    back_up(world, tmp_path / "last-week.sqlite3")
    known = run(world, receiver, content_y, "2026-Q1").version
    later = run(world, receiver, changed_export(world, tmp_path / "x", "2026-Q1", "44"), "2026-Q1")
    assert later.version == known + 1
    restore(world, tmp_path / "last-week.sqlite3")
    capsys.readouterr()

    code = main(
        ["run", "--registration", REGISTRATION, "--input", str(content_y), "--period", "2026-Q1"]
    )

    out, err = capsys.readouterr()
    assert code == 2 and "delivered" not in out
    assert f"the event log knows v{known}, but the receiver (https) holds v{later.version}" in err
    assert "aanlevering run" in err and "aanlevering retract" in err
