"""A registry holder that once answered the listing is not downgraded by a 404 (decision 0455).

Found auditing decisions 0460/0462: a holder answering the listing with 404,
405 or 501 was taken as one "without a listing" and the run fell back to the
event log alone, so a misconfigured proxy or hostile middlebox answering 404
brought back the false "already delivered" after a restore. The log now
remembers that the registration's receiver answered the listing once, and
from then on such an answer means "could not be asked". The real reference
registry holder behind a real forwarding proxy process on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aanlevering.cli.registry_holder import write_demo_config
from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.events.sqlite import SqliteEventStore
from aanlevering.pipeline.receiver_check import ReceiverNotAsked, ask_receiver
from support.listing_proxy import ListingProxy, listing_proxy
from support.registry_holder import RegistryHolder
from support.servers import free_port

HOSPITAL, PERIOD = "demo-hospital", "2026-03"


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[RegistryHolder]:
    home = tmp_path / "registry-holder"
    write_demo_config(home, [HOSPITAL], ["ldtr", "dica-dsaa"])
    running = RegistryHolder(home, free_port(), (home / f"{HOSPITAL}.api-key").read_text().strip())
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def proxy(holder: RegistryHolder) -> Iterator[ListingProxy]:
    with listing_proxy(holder.base_url) as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    opened = SqliteEventStore(tmp_path / "events.db")
    yield opened
    opened.close()


def _channel(
    holder: RegistryHolder, proxy: ListingProxy, registration: str = "ldtr"
) -> HttpsChannel:
    return HttpsChannel(proxy.endpoint(registration), holder.api_key, timeout=10)


@pytest.mark.parametrize("status", [404, 405, 501])
def test_a_holder_that_answered_once_is_not_asked_when_it_answers_no_listing(
    holder: RegistryHolder, proxy: ListingProxy, store: SqliteEventStore, status: int
) -> None:
    channel = _channel(holder, proxy)
    held = ask_receiver(channel, HOSPITAL, "ldtr", PERIOD, store=store)
    assert held is not None and held.versions == ()

    proxy.blocked = status
    with pytest.raises(ReceiverNotAsked) as raised:
        ask_receiver(channel, HOSPITAL, "ldtr", "2026-04", store=store)

    message = str(raised.value)
    assert f"HTTP {status}" in message
    assert "answered the listing before" in message
    assert "nothing is reported delivered" in message


def test_the_answer_is_remembered_once_per_registration(
    holder: RegistryHolder, proxy: ListingProxy, store: SqliteEventStore
) -> None:
    for period in ("2026-03", "2026-04", "2026-05"):
        ask_receiver(_channel(holder, proxy), HOSPITAL, "ldtr", period, store=store)
    remembered = list(store.read_types(["deliver.ReceiverListingAnswered"]))
    assert len(remembered) == 1
    # Nothing of the endpoint's text is in the event, only its digest.
    assert "127.0.0.1" not in str(remembered[0].payload)

    # Another registration's receiver never answered: its 404 still leaves the log to decide.
    proxy.blocked = 404
    other = _channel(holder, proxy, "dica-dsaa")
    assert ask_receiver(other, HOSPITAL, "dica-dsaa", PERIOD, store=store) is None


def test_a_folder_channel_is_not_remembered(tmp_path: Path, store: SqliteEventStore) -> None:
    # An outbox lists its folders: there is no "no listing" answer to downgrade to.
    held = ask_receiver(OutboxChannel(tmp_path / "outbox"), HOSPITAL, "ldtr", PERIOD, store=store)
    assert held is not None and held.versions == ()
    assert list(store.read_types(["deliver.ReceiverListingAnswered"])) == []
