"""One outbox hand-over in an event log: version 1 placed in an outbox, its upload not confirmed.

Why: the hand-over commands' tests (confirm-upload, abandon-handover, their race and
their refusal of patient data in a reason) all start from this same fact.
"""

from __future__ import annotations

from pathlib import Path

from pytest import MonkeyPatch

from aanlevering.deliver.accounting import Accounting
from aanlevering.deliver.events import DeliveryReceipted, DeliveryStaged, delivery_stream
from aanlevering.events import open_event_store
from aanlevering.events.store import EventStore

REG, PERIOD, KEY = "dica-dsaa", "2026-Q1", "h.dica-dsaa.2026-Q1.v1"


def append_outbox_handover(store: EventStore) -> None:
    """Append v1 of ``REG`` ``PERIOD``, staged for an outbox and placed there (3 records)."""
    common = {"registration": REG, "period": PERIOD, "idempotency_key": KEY}
    store.append(
        delivery_stream(REG, PERIOD),
        [
            DeliveryStaged(
                **common,
                version=1,
                channel="outbox",
                format="csv",
                content_sha256="same",
                accounting=Accounting(records_read=3, patients=3, delivered=3),
            ),
            DeliveryReceipted(
                **common,
                version=1,
                receipt_id="r-outbox",
                receiver="outbox:/srv/outbox",
                channel="outbox",
                received_at="2026-04-10T10:00:00+00:00",
            ),
        ],
        None,
    )


def home_with_an_outbox_handover(store_url: str, home: Path, monkeypatch: MonkeyPatch) -> str:
    """A home in ``home`` whose event log ``store_url`` holds v1 placed in an outbox; no
    run-lock wait (a held period is refused at once)."""
    monkeypatch.setenv("AANLEVERING_HOME", str(home))
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", store_url)
    monkeypatch.setenv("AANLEVERING_RUN_LOCK_WAIT", "0")
    monkeypatch.delenv("AANLEVERING_CATALOGUE", raising=False)
    with open_event_store(store_url) as store:
        append_outbox_handover(store)
    return store_url
