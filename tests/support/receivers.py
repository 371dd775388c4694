"""A hospital's event log restored behind its receiver, over each kind of channel.

For the tests of decisions 0460 and 0461: the same pipeline runs against the
registry holder over HTTPS (the e2e world's real process), an outbox folder,
and a real sshd with the registry holder's SFTP inbox watcher, and each
answers independently of the code under test which versions it holds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from aanlevering.catalogue import RegistrationConfig
from aanlevering.counterparts.registry_holder.exchange import make_exchanger
from aanlevering.counterparts.registry_holder.sftp_inbox import start_watcher
from aanlevering.counterparts.registry_holder.store import DeliveryStore
from aanlevering.deliver.channels import Channel
from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.channels.sftp import SftpChannel, SftpTarget
from aanlevering.deliver.events import DeliveryAttemptFailed, DeliveryStaged, delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.deliver.manifest import Manifest, idempotency_key
from aanlevering.events.store import EventStore
from aanlevering.periods import Period
from aanlevering.pipeline.run import Ports, RunRequest, RunResult, run_delivery
from aanlevering.pseudonym.ttp.client import TTPClient
from support.registry_holder import HOSPITAL
from support.sshd import SftpServer

TODAY = date(2026, 11, 22)
REGISTRATION = "dica-dsaa"
#: A month of each period whose rows a changed export alters.
MONTH_OF = {"2026-Q1": "-02-2026", "2026-Q2": "-05-2026", "2026-Q3": "-08-2026"}


@dataclass
class Receiver:
    """One channel to run through, and the receiver's own answer to what it holds."""

    name: str
    ports: Callable[[Any, EventStore], Ports]
    #: idempotency key -> the record counts the receiver holds under it.
    held: Callable[[], dict[str, dict[str, int]]]
    #: idempotency key -> the key it supersedes, as the receiver stored it.
    supersedes: Callable[[], dict[str, str | None]]


def https_receiver(world: Any) -> Receiver:
    """The e2e world's registry holder process (the registration's own https channel)."""

    def entries() -> list[dict[str, Any]]:
        return [e for e in world.holder.ledger() if e["registration"] == REGISTRATION]

    return Receiver(
        "https",
        lambda world, store: world.ports(store),
        lambda: {e["idempotency_key"]: dict(e["records"]) for e in entries()},
        lambda: {e["idempotency_key"]: e.get("supersedes") for e in entries()},
    )


def _manifests(root: Path) -> Iterator[dict[str, Any]]:
    for receipt in sorted(root.rglob("receipt.json")):
        yield json.loads((receipt.parent / "manifest.json").read_text(encoding="utf-8"))


def outbox_receiver(world: Any, root: Path) -> Receiver:
    """An outbox folder: whatever the run is given, it delivers there."""

    def ports(world: Any, store: EventStore) -> Ports:
        base: Ports = world.ports(store)
        return replace(base, channel_for=lambda config, outbox: OutboxChannel(root))

    return Receiver(
        "outbox",
        ports,
        lambda: {m["idempotency_key"]: dict(m["record_counts"]) for m in _manifests(root)},
        lambda: {m["idempotency_key"]: m.get("supersedes") for m in _manifests(root)},
    )


def _exchanger(world: Any) -> Callable[[Path, Manifest], None]:
    """The registry holder's exchange at the world's TTP, with each holder's own key.

    A web-mode delivery carries temporary pseudonyms, which a holder without a
    TTP refuses (decision 1060): this one exchanges them, as the world's does.
    """
    keys = world.home / "ttp" / "clients"

    def client_for(registration: str) -> TTPClient:
        holder = world.config(registration).registry_holder_id
        api_key = (keys / f"{holder}.key").read_text(encoding="utf-8").strip()
        return TTPClient(world.ttp.url, api_key, backoff=0.01)

    return make_exchanger(client_for)


@contextmanager
def sftp_receiver(world: Any, server: SftpServer, holder_root: Path) -> Iterator[Receiver]:
    """A real sshd and the registry holder's SFTP inbox watcher receipting into its store."""
    inbox = server.root / REGISTRATION
    inbox.mkdir()
    store = DeliveryStore(holder_root, "reference-sftp", exchanger=_exchanger(world))
    stop = start_watcher({inbox: HOSPITAL}, store, interval=0.1)

    def channel(config: RegistrationConfig, outbox: Path | None) -> Channel:
        target = SftpTarget.from_url(
            f"{server.url_prefix}{inbox}", server.client_key, server.known_hosts
        )
        return SftpChannel(target, receipt_timeout=30, poll_interval=0.1, connect_timeout=5)

    def ports(world: Any, events: EventStore) -> Ports:
        return replace(world.ports(events), channel_for=channel)

    try:
        yield Receiver(
            "sftp",
            ports,
            lambda: {e["idempotency_key"]: dict(e["records"]) for e in store.ledger()},
            lambda: {e["idempotency_key"]: e.get("supersedes") for e in store.ledger()},
        )
    finally:
        stop.set()


def run(world: Any, receiver: Receiver, source: Path, period: str) -> RunResult:
    """One `aanlevering run` of the registration's period from ``source``."""
    with world.store() as store:
        return run_delivery(
            world.config(REGISTRATION),
            world.settings,
            RunRequest(REGISTRATION, source, Period.parse(period), today=TODAY),
            receiver.ports(world, store),
        )


def changed_export(world: Any, target: Path, period: str, diameter: str) -> Path:
    """The demo export with the diameter of one month of ``period`` set to ``diameter``."""
    target.mkdir()
    month = MONTH_OF[period]
    for file in (world.demo / "csv-utf8").glob("dsaa_*.csv"):
        lines = file.read_text(encoding="utf-8-sig").splitlines()
        header = lines[0].split(";")
        if "DIAMETER_MM" in header:
            column = header.index("DIAMETER_MM")
            for index, line in enumerate(lines[1:], start=1):
                if month in line:
                    cells = line.split(";")
                    cells[column] = diameter
                    lines[index] = ";".join(cells)
        (target / file.name).write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return target


def log_file(world: Any) -> Path:
    """The embedded default's SQLite event log."""
    return Path(world.settings.event_store_url.removeprefix("sqlite://"))


def back_up(world: Any, target: Path) -> None:
    """An online backup of the event log, as a nightly backup takes it."""
    with sqlite3.connect(log_file(world)) as live, sqlite3.connect(target) as copy:
        live.backup(copy)


def restore(world: Any, backup: Path) -> None:
    """Put the backup in the live log's place (its WAL files go with the old log)."""
    live = log_file(world)
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    backup.replace(live)


def v2_held_but_pending_in_the_log(
    world: Any, receiver: Receiver, tmp_path: Path, period: str
) -> None:
    """v1 receipted, v2 at the receiver; the log has v2 staged with failed attempts only."""
    assert run(world, receiver, world.demo / "csv-utf8", period).version == 1
    back_up(world, tmp_path / "before-v2.sqlite3")
    changed = changed_export(world, tmp_path / "x", period, "77")
    assert run(world, receiver, changed, period).version == 2
    stream = delivery_stream(REGISTRATION, period)
    with world.store() as store:
        staged = [
            e
            for e in (r.to_event() for r in store.read_stream(stream))
            if isinstance(e, DeliveryStaged) and e.version == 2
        ]
    restore(world, tmp_path / "before-v2.sqlite3")
    failed = DeliveryAttemptFailed(
        registration=REGISTRATION,
        period=period,
        idempotency_key=idempotency_key(HOSPITAL, REGISTRATION, period, 2),
        attempt=5,
        retryable=True,
        reason="not receipted within 60 s",
        provider="demo-hospital",
    )
    with world.store() as store:
        store.append(stream, [*staged, failed], None)
        entries = load_ledger(store).versions(REGISTRATION, period)
    assert [(e.version, e.status) for e in entries] == [(1, "receipted"), (2, "failed")]


def finished(receiver: Receiver) -> str:
    """The status a run through ``receiver`` ends with: an outbox's is a hand-over (0820)."""
    return "handed-over" if receiver.name == "outbox" else "delivered"
