"""A version whose receipt did not match still contains its patients for a deletion request.

``aanlevering optout deliveries`` answers which delivered versions held a
patient (decision 0642); a version refused by the registry holder is left out.
A version whose receipt the run's check refused (decision 0842) was left out
the same way, though the holder answered with a receipt and may hold it: a
patient who opted out later was never named as possibly in it.
"""

from __future__ import annotations

from optout_support import MRNS

from aanlevering.deliver.events import (
    DeliveryAttemptFailed,
    DeliveryStaged,
    delivery_stream,
)
from aanlevering.optout.deliveries import (
    SENT_WITHOUT_RECEIPT,
    DeliveryRef,
    deliveries_containing,
    record_delivery_contents,
)


def test_a_version_whose_receipt_did_not_match_is_named_as_sent(store, hash_mrn) -> None:
    patient = hash_mrn(MRNS[0])
    for version, mismatch in ((1, True), (2, False)):
        record_delivery_contents(store, "ldtr", "2026-03", version, [patient])
        common = {
            "registration": "ldtr",
            "period": "2026-03",
            "idempotency_key": f"h.ldtr.2026-03.v{version}",
        }
        events = [
            DeliveryStaged(**common, version=version, channel="https", format="x"),
            DeliveryAttemptFailed(
                **common, attempt=1, retryable=False, reason="x", receipt_mismatch=mismatch
            ),
        ]
        if mismatch:  # a later plain refusal does not make the holder forget it
            events.append(DeliveryAttemptFailed(**common, attempt=2, retryable=False, reason="y"))
        store.append(delivery_stream("ldtr", "2026-03"), events, None)

    assert deliveries_containing(store, patient) == (
        DeliveryRef("ldtr", "2026-03", 1, SENT_WITHOUT_RECEIPT),
    )
