"""The kind of a version the log learns from the receiver (decision 0456).

A ``DeliveryVersionTaken`` of schema version 2 carries ``kind``; the ledger
counts a taken retraction as a retraction (the period is owed again). One of
version 1 (no kind) reads as before: a delivery, or what the log staged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from aanlevering.deliver.events import DeliveryVersionTaken
from aanlevering.deliver.ledger import project_ledger
from aanlevering.events.model import RecordedEvent

KEY = "demo-hospital.ldtr.2026-03.v2"


def _taken(schema_version: int, **extra: Any) -> RecordedEvent:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    payload = {
        "registration": "ldtr",
        "period": "2026-03",
        "version": 2,
        "idempotency_key": KEY,
        "receipt_id": "r-2",
        "receiver": "registry-holder",
        "received_at": "2026-11-21T10:00:00+00:00",
        "provider": "demo-hospital",
        **extra,
    }
    return RecordedEvent(
        1,
        uuid4(),
        "delivery-ldtr-2026-03",
        1,
        DeliveryVersionTaken.event_type,
        schema_version,
        now,
        now,
        payload,
        {},
    )


def test_a_taken_retraction_is_no_delivered_period() -> None:
    ledger = project_ledger([_taken(2, kind="retraction")])
    assert ledger.entries[KEY].kind == "retraction"
    assert ledger.delivered_periods("ldtr") == frozenset()
    assert ledger.last_receipted_on("ldtr") is None


def test_a_taken_version_without_a_kind_reads_as_before() -> None:
    for record in (_taken(1), _taken(2, kind="")):
        ledger = project_ledger([record])
        assert ledger.entries[KEY].kind == "delivery"
        # Held by the receiver (it replaces what came before), yet with content this log
        # does not know: no delivery of the period (decision 0841).
        assert ledger.entries[KEY].at_holder and not ledger.entries[KEY].delivered
        assert ledger.delivered_periods("ldtr") == frozenset()


def test_a_version_1_event_decodes_with_an_unknown_kind() -> None:
    event = _taken(1).to_event()
    assert isinstance(event, DeliveryVersionTaken)
    assert event.kind == ""
