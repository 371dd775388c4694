"""A proxy answering the listing with 404 does not bring back "already delivered" (0455).

Found auditing decisions 0460/0462: v1 delivered, the log backed up, v2
(other content) delivered, the log restored; then a proxy in front of the
registry holder answered the listing with 404 and the run, taking the holder
for one without a listing, said "already delivered v1" (exit 0) while the
holder's current version was v2. The log remembers that the holder listed
before, so the run is now not asked (retryable, nothing reported delivered).
Real registry holder process, real forwarding proxy, real restored log.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.ledger import load_ledger
from aanlevering.events.store import EventStore
from aanlevering.pipeline.receiver_check import ReceiverAhead, ReceiverNotAsked
from aanlevering.pipeline.run import Ports
from conftest import World
from support.listing_proxy import listing_proxy
from support.receivers import (
    REGISTRATION,
    Receiver,
    back_up,
    changed_export,
    https_receiver,
    restore,
    run,
)


def test_a_proxy_answering_404_after_a_restore_is_no_already_delivered(
    world: World, tmp_path: Path
) -> None:
    period = "2026-Q1"
    with listing_proxy(world.holder.base_url) as proxy:
        direct = https_receiver(world)

        def ports(world: Any, store: EventStore) -> Ports:
            channel = HttpsChannel(proxy.endpoint(REGISTRATION), world.holder.api_key, timeout=30)
            return replace(world.ports(store), channel_for=lambda config, outbox: channel)

        receiver = Receiver("https-via-proxy", ports, direct.held, direct.supersedes)
        content = world.demo / "csv-utf8"
        assert run(world, receiver, content, period).status == "delivered"
        back_up(world, tmp_path / "after-v1.sqlite3")
        changed = changed_export(world, tmp_path / "x", period, "55")
        assert run(world, receiver, changed, period).version == 2
        restore(world, tmp_path / "after-v1.sqlite3")

        proxy.blocked = 404
        with pytest.raises(ReceiverNotAsked, match="answered the listing before") as stop:
            run(world, receiver, content, period)
        assert "HTTP 404" in str(stop.value)
        with world.store() as store:
            current = load_ledger(store).current(REGISTRATION, period)
        assert current is not None and current.version == 1

        # The proxy fixed: the holder's v2 is found and the run stops as decision 0460 says.
        proxy.blocked = None
        with pytest.raises(ReceiverAhead, match="the event log knows v1"):
            run(world, receiver, content, period)
