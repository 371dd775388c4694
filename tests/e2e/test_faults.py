"""Fault scenarios of a whole run: each ends in exactly one receipted delivery, nothing lost."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import requests

from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import TTPError
from aanlevering.periods import Period
from aanlevering.pipeline.run import RunRequest, run_delivery
from conftest import World

TODAY = date(2026, 11, 22)


def _admin(world: World) -> dict[str, str]:
    key = (world.home / "ttp" / "clients" / "ttp-admin.key").read_text().strip()
    return {"Authorization": f"Bearer {key}"}


def _arm_ttp(world: World, count: int, mode: str = "error") -> None:
    response = requests.post(
        world.ttp.url + "/admin/faults",
        json={"count": count, "mode": mode},
        headers=_admin(world),
        timeout=5,
    )
    assert response.status_code == 200, response.text


def _deliveries(world: World, key: str) -> int:
    return sum(1 for e in world.holder.ledger() if e["idempotency_key"] == key)


def test_ttp_fails_mid_run_then_recovers(world: World) -> None:
    _arm_ttp(world, 50)  # more failures than the client retries: the run stops
    with world.store() as store, pytest.raises(TTPError):
        run_delivery(
            world.config("dica-dsaa"),
            world.settings,
            RunRequest("dica-dsaa", world.demo / "csv-utf8", Period.parse("2026-Q1"), today=TODAY),
            world.ports(store),
        )
    assert _deliveries(world, "demo-hospital.dica-dsaa.2026-Q1.v1") == 0  # nothing half-delivered
    _arm_ttp(world, 0)
    _arm_ttp(world, 2)  # a short hiccup is absorbed by the client's retries
    with world.store() as store:
        result = run_delivery(
            world.config("dica-dsaa"),
            world.settings,
            RunRequest("dica-dsaa", world.demo / "csv-utf8", Period.parse("2026-Q1"), today=TODAY),
            world.ports(store),
        )
    assert result.status == "delivered" and result.version == 1
    assert _deliveries(world, "demo-hospital.dica-dsaa.2026-Q1.v1") == 1


def test_process_killed_between_sending_and_receipt_then_run_again(
    world: World, tmp_path: Path
) -> None:
    key = "demo-hospital.dica-dsaa.2026-Q2.v1"
    world.holder.faults(drop_receipt=100)  # stored at the receiver, receipt never arrives
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aanlevering.cli.main",
            "run",
            "--registration",
            "dica-dsaa",
            "--input",
            str(world.demo / "csv-utf8"),
            "--period",
            "2026-Q2",
        ],
        env={**world.env, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "run.log").open("wb"),
    )
    deadline = time.monotonic() + 120
    while _deliveries(world, key) == 0 and time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "run.log").read_text()[-2000:]
        time.sleep(0.2)
    process.kill()
    process.wait(timeout=10)
    assert _deliveries(world, key) == 1
    with world.store() as store:
        entry = load_ledger(store).current("dica-dsaa", "2026-Q2")
    assert entry is not None and entry.status != "receipted"

    world.holder.faults(drop_receipt=0)
    with world.store() as store:
        result = run_delivery(
            world.config("dica-dsaa"),
            world.settings,
            RunRequest("dica-dsaa", world.demo / "csv-utf8", Period.parse("2026-Q2"), today=TODAY),
            world.ports(store),
        )
        assert result.idempotency_key == key  # the same delivery, not a new version
        assert result.receipt is not None and result.receipt.duplicate
        assert load_ledger(store).current("dica-dsaa", "2026-Q2").status == "receipted"  # type: ignore[union-attr]
    assert _deliveries(world, key) == 1
