"""The event log restored from an older backup while the registry holder kept later versions.

The embedded default keeps its log in `$AANLEVERING_HOME/events.sqlite3`, so
restoring last week's home restores last week's log; the registry holder
still holds what was delivered since. A run then must not send a version
number the holder already has with other content as if it were new, nor
report a period delivered with content the holder never received.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from aanlevering.periods import Period
from aanlevering.pipeline.receiver_check import ReceiverAhead
from aanlevering.pipeline.run import RunRequest, RunResult, run_delivery
from conftest import World

TODAY = date(2026, 11, 22)
PERIOD = "2026-Q3"


def _run(world: World, source: Path) -> RunResult:
    with world.store() as store:
        return run_delivery(
            world.config("dica-dsaa"),
            world.settings,
            RunRequest("dica-dsaa", source, Period.parse(PERIOD), today=TODAY),
            world.ports(store),
        )


def _changed(world: World, target: Path, diameter: str) -> Path:
    """The demo export with every Q3 operation's diameter set to ``diameter``."""
    target.mkdir()
    for file in (world.demo / "csv-utf8").glob("dsaa_*.csv"):
        text = file.read_text(encoding="utf-8-sig")
        lines = text.splitlines()
        header = lines[0].split(";")
        if "DIAMETER_MM" in header:
            column = header.index("DIAMETER_MM")
            for index, line in enumerate(lines[1:], start=1):
                if "-08-2026" in line:
                    cells = line.split(";")
                    cells[column] = diameter
                    lines[index] = ";".join(cells)
        (target / file.name).write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return target


def _backup(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
        live.backup(copy)


def _holder_versions(world: World) -> dict[str, str]:
    return {
        e["idempotency_key"]: e.get("content_sha256") or e.get("manifest_sha256") or ""
        for e in world.holder.ledger()
        if e["idempotency_key"].startswith(f"demo-hospital.dica-dsaa.{PERIOD}.")
    }


def test_a_run_after_the_log_was_restored_never_reuses_a_version_the_holder_has(
    world: World, tmp_path: Path
) -> None:
    log_file = Path(world.settings.event_store_url.removeprefix("sqlite://"))
    first = _run(world, world.demo / "csv-utf8")
    assert (first.status, first.version) == ("delivered", 1)
    _backup(log_file, tmp_path / "last-week.sqlite3")

    second = _run(world, _changed(world, tmp_path / "v2", "77"))
    assert (second.status, second.version) == ("delivered", 2)
    held = _holder_versions(world)
    assert len(held) == 2

    # Restore last week's home: the log forgets version 2, the holder does not.
    for suffix in ("-wal", "-shm"):
        Path(f"{log_file}{suffix}").unlink(missing_ok=True)
    (tmp_path / "last-week.sqlite3").replace(log_file)

    # The run asks the holder first: it stops, the log learns v2 (decision 0460) ...
    with pytest.raises(ReceiverAhead, match="the event log knows v1, but the receiver"):
        _run(world, _changed(world, tmp_path / "v3", "66"))
    assert _holder_versions(world) == held
    # ... and the next run delivers its content past it.
    third = _run(world, tmp_path / "v3")
    assert third.status == "delivered"
    assert third.version == 3, "version 2 is the holder's, with other content"
    after = _holder_versions(world)
    assert {k: v for k, v in after.items() if k in held} == held  # nothing replaced
    assert third.idempotency_key in after and len(after) == 3
