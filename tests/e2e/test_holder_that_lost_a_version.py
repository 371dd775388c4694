"""A registry holder that lost a receipted version is no "already delivered" (decision 0494).

Found attacking decision 0460: the run asked the HTTPS registry holder which
versions it holds, and when the holder held *less* than the log (restored
from a backup taken before v1) the run still said "already delivered v1"
(exit 0) from the log alone, while the holder held nothing of the period.
The holder's listing is its own ledger, so the run now sends the version
again under its key; the outbox (emptied after a manual upload) keeps the
log's answer.
"""

from __future__ import annotations

import shutil

from conftest import World
from support.receivers import REGISTRATION, https_receiver, run
from support.registry_holder import HOSPITAL


def _key(period: str, version: int) -> str:
    return f"demo-hospital.{REGISTRATION}.{period}.v{version}"


def test_a_version_the_holder_lost_is_sent_again_not_already_delivered(world: World) -> None:
    receiver = https_receiver(world)
    content = world.demo / "csv-utf8"
    period = "2026-Q1"
    first = run(world, receiver, content, period)
    assert (first.status, first.version) == ("delivered", 1)
    # The registry holder restored from a backup taken before v1 arrived.
    storage = world.holder.home / "storage"
    ledger = storage / "ledger.jsonl"
    kept = [line for line in ledger.read_text().splitlines() if _key(period, 1) not in line]
    ledger.write_text("".join(f"{line}\n" for line in kept))
    shutil.rmtree(storage / "deliveries" / HOSPITAL / _key(period, 1))
    assert _key(period, 1) not in receiver.held()

    again = run(world, receiver, content, period)

    assert (again.status, again.version) == ("delivered", 1)
    assert receiver.held()[_key(period, 1)] == dict(first.record_counts)
    # Holder and log agree again: the cheap path.
    assert run(world, receiver, content, period).status == "already-delivered"
