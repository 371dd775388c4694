"""A new version supersedes the version the receiver holds, also one pending in the log (0461).

v1 receipted; v2 committed by the receiver but pending in the log (its
receipt never came back). A run with other content is v3 and superseded v1,
the last version the log had receipted, while the receiver's current version
was v2. Now the run asks the receiver once and v3 supersedes v2.
"""

from __future__ import annotations

from pathlib import Path

from conftest import World
from support.receivers import (
    REGISTRATION,
    Receiver,
    changed_export,
    finished,
    https_receiver,
    outbox_receiver,
    run,
    v2_held_but_pending_in_the_log,
)


def _key(period: str, version: int) -> str:
    return f"demo-hospital.{REGISTRATION}.{period}.v{version}"


def _new_content_supersedes_v2(
    world: World, receiver: Receiver, tmp_path: Path, period: str
) -> None:
    v2_held_but_pending_in_the_log(world, receiver, tmp_path, period)

    third = run(world, receiver, changed_export(world, tmp_path / "z", period, "66"), period)

    assert (third.status, third.version) == (finished(receiver), 3)
    assert receiver.supersedes()[_key(period, 3)] == _key(period, 2)


def test_https_new_version_supersedes_the_pending_one(world: World, tmp_path: Path) -> None:
    _new_content_supersedes_v2(world, https_receiver(world), tmp_path, "2026-Q1")


def test_outbox_new_version_supersedes_the_pending_one(world: World, tmp_path: Path) -> None:
    receiver = outbox_receiver(world, tmp_path / "outbox")
    _new_content_supersedes_v2(world, receiver, tmp_path, "2026-Q2")
