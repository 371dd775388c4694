"""A retracted period is not delivered: its receipted retraction is the period's last word.

The calendar and ``aanlevering status`` read ``delivered_periods``; a period
whose data was withdrawn must show as owed again, not as delivered, until a
new delivery is receipted, and a late receipt of the withdrawn version
changes nothing. A retraction's receipt is not a delivery for the yearly check.
"""

from __future__ import annotations

from pathlib import Path

from aanlevering.deliver.events import DeliveryReceipted, DeliveryStaged, delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.events.factory import open_event_store
from aanlevering.events.store import EventStore

REG, PERIOD = "dica-dsaa", "2026-Q1"


def _key(version: int) -> str:
    return f"hospital-a.{REG}.{PERIOD}.v{version}"


def _staged(store: EventStore, version: int, kind: str = "delivery") -> None:
    store.append(
        delivery_stream(REG, PERIOD),
        [
            DeliveryStaged(
                registration=REG,
                period=PERIOD,
                version=version,
                idempotency_key=_key(version),
                channel="https",
                format="csv",
                kind=kind,
                content_sha256=f"content-{version}",
                supersedes=_key(version - 1) if version > 1 else None,
                provider="hospital-a",
            )
        ],
        None,
    )


def _receipted(store: EventStore, version: int, day: str) -> None:
    store.append(
        delivery_stream(REG, PERIOD),
        [
            DeliveryReceipted(
                registration=REG,
                period=PERIOD,
                version=version,
                idempotency_key=_key(version),
                receipt_id=f"r-{version}",
                receiver="holder",
                channel="https",
                received_at=f"{day}T10:00:00+00:00",
                provider="hospital-a",
            )
        ],
        None,
    )


def test_a_retracted_period_is_owed_again_until_a_new_delivery_is_receipted(
    tmp_path: Path,
) -> None:
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    _staged(store, 1)
    _staged(store, 2)  # a correction, sent before the retraction and receipted late
    _receipted(store, 1, "2026-04-10")
    assert load_ledger(store).delivered_periods(REG) == {PERIOD}
    _staged(store, 3, kind="retraction")
    _receipted(store, 3, "2026-05-01")
    ledger = load_ledger(store)
    assert ledger.delivered_periods(REG) == frozenset()
    assert ledger.last_receipted_on(REG) is None  # withdrawn, and a retraction is no delivery
    _receipted(store, 2, "2026-05-02")  # a late receipt of a version the retraction withdrew
    assert load_ledger(store).delivered_periods(REG) == frozenset()
    _staged(store, 4)
    _receipted(store, 4, "2026-06-01")
    assert load_ledger(store).delivered_periods(REG) == {PERIOD}
