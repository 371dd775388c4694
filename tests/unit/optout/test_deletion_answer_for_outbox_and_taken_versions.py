"""The deletion answer names an unconfirmed outbox hand-over and a taken version for what they are.

``aanlevering optout deliveries`` answers which versions held a patient
(decision 0642). An outbox's own receipt only says the files were placed for
a manual upload (0794), and a version the registry holder already held with
an earlier run's content (0380, 0841) holds what this log does not know: both
were answered "receipted", as if the holder had confirmed this patient's
records (decision 0844).
"""

from __future__ import annotations

from optout_support import MRNS

from aanlevering.deliver.events import (
    DeliveryReceipted,
    DeliveryStaged,
    DeliveryVersionTaken,
    HandOffAbandoned,
    HandOffConfirmed,
    delivery_stream,
)
from aanlevering.optout.deliveries import (
    HANDED_OVER_UNCONFIRMED,
    SENT_WITHOUT_RECEIPT,
    TAKEN_WITH_OTHER_CONTENT,
    DeliveryRef,
    deliveries_containing,
    record_delivery_contents,
)

RECEIVED_AT = "2026-04-02T10:00:00+00:00"


def _common(version: int) -> dict[str, str]:
    return {
        "registration": "ldtr",
        "period": "2026-03",
        "idempotency_key": f"h.ldtr.2026-03.v{version}",
    }


def _placed_in_outbox(version: int) -> list:
    common = _common(version)
    return [
        DeliveryStaged(**common, version=version, channel="outbox", format="x"),
        DeliveryReceipted(
            **common, version=version, receipt_id=f"outbox-{version}",
            receiver="outbox:/srv/outbox/ldtr", channel="outbox", received_at=RECEIVED_AT,
        ),
    ]  # fmt: skip


def test_outbox_and_taken_versions_are_not_answered_as_receipted(store, hash_mrn) -> None:
    patient = hash_mrn(MRNS[0])
    events: list = []
    for version in (1, 2, 3, 4, 5):
        record_delivery_contents(store, "ldtr", "2026-03", version, [patient])
    events += _placed_in_outbox(1)  # never confirmed
    events += _placed_in_outbox(2)
    events.append(HandOffConfirmed(**_common(2), version=2, received_on="2026-04-03"))
    events += _placed_in_outbox(3)
    events.append(HandOffAbandoned(**_common(3), version=3, reason="switched to https"))
    events.append(DeliveryStaged(**_common(4), version=4, channel="https", format="x"))
    events.append(
        DeliveryVersionTaken(
            **_common(4), version=4, receipt_id="earlier", receiver="lnaz",
            received_at=RECEIVED_AT, kind="delivery",
        )
    )  # fmt: skip
    events.append(DeliveryStaged(**_common(5), version=5, channel="https", format="x"))
    events.append(
        DeliveryReceipted(
            **_common(5), version=5, receipt_id="r5", receiver="lnaz", channel="https",
            received_at=RECEIVED_AT,
        )
    )  # fmt: skip
    store.append(delivery_stream("ldtr", "2026-03"), events, None)

    assert deliveries_containing(store, patient) == (
        DeliveryRef("ldtr", "2026-03", 1, HANDED_OVER_UNCONFIRMED),
        DeliveryRef("ldtr", "2026-03", 2, "receipted"),
        DeliveryRef("ldtr", "2026-03", 3, SENT_WITHOUT_RECEIPT),
        DeliveryRef("ldtr", "2026-03", 4, TAKEN_WITH_OTHER_CONTENT),
        DeliveryRef("ldtr", "2026-03", 5, "receipted"),
    )
