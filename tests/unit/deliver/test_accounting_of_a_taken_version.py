"""A version the receiver holds with other content does not keep this run's accounting.

When the receiver already holds version N from an earlier run this log does
not know (``DeliveryVersionTaken``, e.g. a home wiped and re-run), the run
re-stages its content as version N+1. Version N's ``DeliveryStaged`` event
carried this run's counts; left on N, ``aanlevering status`` and the
Deliveries page would show the same records twice (once under a version that
does not hold them). N's content is unknown, so are its counts.
"""

from __future__ import annotations

from pathlib import Path

from aanlevering.deliver.accounting import Accounting
from aanlevering.deliver.events import (
    DeliveryReceipted,
    DeliveryStaged,
    DeliveryVersionTaken,
    delivery_stream,
)
from aanlevering.deliver.ledger import load_ledger
from aanlevering.events.factory import open_event_store

PERIOD = "2026-03"
KEY = "demo-hospital.ldtr.2026-03.v{}"
COUNTS = Accounting(records_read=12, excluded_optout=2, patients=9, delivered=10)


def _staged(version: int) -> DeliveryStaged:
    return DeliveryStaged(
        registration="ldtr", period=PERIOD, version=version, idempotency_key=KEY.format(version),
        channel="https", format="fhir-ndjson", record_counts={"trauma": 10}, excluded_optouts=2,
        content_sha256="this-runs-content", provider="demo-hospital", accounting=COUNTS,
        supersedes=KEY.format(version - 1) if version > 1 else None,
    )  # fmt: skip


def test_the_taken_version_shows_no_counts_and_only_the_delivered_one_does(
    tmp_path: Path,
) -> None:
    taken = DeliveryVersionTaken(
        registration="ldtr", period=PERIOD, version=1, idempotency_key=KEY.format(1),
        receipt_id="r-earlier", receiver="holder", received_at="2026-04-02T10:00:00+00:00",
        provider="demo-hospital",
    )  # fmt: skip
    receipted = DeliveryReceipted(
        registration="ldtr", period=PERIOD, version=2, idempotency_key=KEY.format(2),
        receipt_id="r-now", receiver="holder", channel="https",
        received_at="2026-04-03T10:00:00+00:00", provider="demo-hospital",
    )  # fmt: skip
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store:
        store.append(
            delivery_stream("ldtr", PERIOD), [_staged(1), taken, _staged(2), receipted], None
        )
        first, second = load_ledger(store).versions("ldtr", PERIOD)

    assert (first.status, second.status) == ("receipted", "receipted")
    assert second.accounting["delivered"] == 10 and second.record_counts == {"trauma": 10}
    assert second.excluded_optouts == 2
    # Version 1 holds the earlier run's unknown content: none of this run's counts.
    assert first.accounting == {} and first.record_counts == {} and first.excluded_optouts == 0
