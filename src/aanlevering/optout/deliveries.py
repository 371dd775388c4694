"""Which deliveries contained a patient? Answered from the log, by patient reference only.

When a patient opts out later, the registry holder may ask to delete what
was delivered before; the hospital must say which deliveries held that
patient. The delivery step records, per delivered dataset version, the
patient references it contained (:func:`record_delivery_contents`);
:func:`deliveries_containing` searches those records for one reference,
which the caller computes by hashing the MRN locally (``PatientRefHasher``).

The contents are recorded when a version is staged, before it is sent, and
again (idempotently) after its receipt: a version the registry holder stored
without its receipt reaching the hospital holds the patients too, and after
a negative decision no later run can repair its contents (decision 0642).
So the answer says per version whether it was receipted or only sent (an
outbox hand-over not confirmed, a version the holder held with an earlier run's
content are named as such, 0844); a version never sent (aborted before any
attempt) or refused by the receiver is left out, not one whose receipt did not
match what was sent (0842).

The search reads the ``DeliveryContentsRecorded`` events in log order, and
the delivery events by type name and payload (this package sits below
``deliver``): one pass over the log, which is fine for the occasional
deletion request. A lookup table can be added as a projection if it ever
needs to be fast.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from aanlevering.errors import EventStoreError
from aanlevering.events.model import RecordedEvent
from aanlevering.events.store import EventStore
from aanlevering.obligation.service import append_missing
from aanlevering.optout.events import (
    CONTENTS_PART_SIZE,
    DeliveryContentsRecorded,
    contents_stream,
    derived_id,
)
from aanlevering.pseudonym.patient_ref import all_patient_refs, is_patient_ref

#: What the answer says of a version sent without a receipt (decision 0642).
SENT_WITHOUT_RECEIPT = "none: sent, the registry holder may hold it"
#: ... of a version placed in an outbox whose upload nobody confirmed (0794, 0844).
HANDED_OVER_UNCONFIRMED = (
    "none yet: placed in an outbox, its upload not confirmed; the registry holder may hold it"
)
#: ... of a version the holder holds with an earlier run's content (0380, 0841, 0844).
TAKEN_WITH_OTHER_CONTENT = (
    "other content: the registry holder holds this version from an earlier run this log "
    "does not know; ask it whether the patient is in that version"
)


@dataclass(frozen=True, order=True)
class DeliveryRef:
    """One delivered dataset version: what ``optout deliveries`` prints (nothing else).

    ``receipt``: ``receipted``, :data:`SENT_WITHOUT_RECEIPT`,
    :data:`HANDED_OVER_UNCONFIRMED` or :data:`TAKEN_WITH_OTHER_CONTENT`.
    """

    registration: str
    period: str
    version: int
    receipt: str = "receipted"


@dataclass
class _Sent:
    """What the delivery events say of one version (by its idempotency key)."""

    where: tuple[str, str, int]
    #: staged | failed | rejected | aborted | receipted | handed-over | taken | abandoned
    status: str = "staged"
    attempts: int = 0
    #: A receipt came back that did not match what was sent: the holder may hold it (0842).
    receipt_mismatch: bool = False


def _fold_delivery(record: RecordedEvent, sent: dict[str, _Sent]) -> None:
    """Fold one ``deliver.*`` event by type name and payload (see the module docstring)."""
    payload = record.payload
    kind = record.event_type.removeprefix("deliver.")
    key = str(payload.get("idempotency_key", ""))
    if kind == "DeliveryStaged":
        try:
            where = (str(payload["registration"]), str(payload["period"]), int(payload["version"]))
        except (KeyError, TypeError, ValueError):
            return  # damaged: the version reads as receipted (the safe side); the ledger says so
        sent[key] = _Sent(where)
        return
    entry = sent.get(key)
    if entry is None or entry.status in {"receipted", "taken", "abandoned"}:
        return
    if entry.status == "handed-over":
        if kind == "HandOffConfirmed":
            entry.status = "receipted"
        elif kind == "HandOffAbandoned":
            entry.status = "abandoned"  # it may have been uploaded all the same (0843)
        return
    if kind == "DeliveryReceipted":
        by_outbox = payload.get("channel") == "outbox" or str(
            payload.get("receiver", "")
        ).startswith("outbox:")
        entry.status = "handed-over" if by_outbox else "receipted"
    elif kind == "DeliveryVersionTaken":
        entry.status = "taken"
    elif kind == "DeliveryAttemptFailed":
        entry.attempts += 1
        entry.status = "failed" if payload.get("retryable") else "rejected"
        entry.receipt_mismatch = entry.receipt_mismatch or payload.get("receipt_mismatch") is True
    elif kind == "DeliveryAborted":
        entry.status = "aborted"


def _receipt(entry: _Sent | None) -> str | None:
    """How the answer names a version; None when the registry holder cannot hold it."""
    if entry is None or entry.status == "receipted":
        return "receipted"  # contents without a staged version: recorded after a receipt
    if entry.status == "handed-over":
        return HANDED_OVER_UNCONFIRMED
    if entry.status == "taken":
        return TAKEN_WITH_OTHER_CONTENT
    if entry.receipt_mismatch:
        return SENT_WITHOUT_RECEIPT  # it answered with another receipt: it may hold it (0842)
    if entry.status == "rejected" or (entry.status == "aborted" and not entry.attempts):
        return None  # refused by the receiver, or never sent
    return SENT_WITHOUT_RECEIPT


def delivery_contents_events(
    registration: str,
    period: str,
    version: int,
    patient_refs: Iterable[str],
    *,
    part_size: int = CONTENTS_PART_SIZE,
) -> list[DeliveryContentsRecorded]:
    """The events naming every patient of one delivered dataset version, in parts.

    ``patient_refs`` must be patient references (``pr_...``); anything else
    (an MRN, a BSN) is refused before it can reach the log.
    """
    refs = list(patient_refs)
    if any(map(operator.ge, refs, islice(refs, 1, None))):  # not already sorted and distinct
        refs = sorted(set(refs))
    if not all_patient_refs(refs):
        raise EventStoreError(
            f"delivery contents {registration} {period} v{version}: patient_refs must be patient "
            "references (pr_ + 32 hex), never identifiers"
        )
    parts = [refs[i : i + part_size] for i in range(0, len(refs), part_size)] or [[]]
    return [
        DeliveryContentsRecorded(
            event_id=derived_id("contents", registration, period, version, number, len(parts)),
            registration=registration,
            period=period,
            version=version,
            part=number,
            parts=len(parts),
            patient_refs=tuple(chunk),
        )
        for number, chunk in enumerate(parts, start=1)
    ]


def record_delivery_contents(
    store: EventStore,
    registration: str,
    period: str,
    version: int,
    patient_refs: Iterable[str],
    *,
    metadata: Mapping[str, Any] | None = None,
) -> int:
    """Append the contents of one delivered dataset version (idempotent); events appended."""
    events = delivery_contents_events(registration, period, version, patient_refs)
    appended, _ = append_missing(
        store, contents_stream(registration, period, version), events, metadata
    )
    return appended


def deliveries_containing(store: EventStore, patient_ref: str) -> tuple[DeliveryRef, ...]:
    """Every delivered dataset version whose recorded contents include ``patient_ref``."""
    if not is_patient_ref(patient_ref):
        raise EventStoreError("deliveries_containing: expected a patient reference (pr_...)")
    found: set[tuple[str, str, int]] = set()
    sent: dict[str, _Sent] = {}
    for record in store.read_all():
        if record.event_type.startswith("deliver."):
            _fold_delivery(record, sent)
            continue
        if record.event_type != DeliveryContentsRecorded.event_type:
            continue
        if record.schema_version == DeliveryContentsRecorded.schema_version:
            payload = record.payload  # the stored shape is current: skip decoding every part
            if patient_ref in payload.get("patient_refs", ()):
                found.add(
                    (str(payload["registration"]), str(payload["period"]), int(payload["version"]))
                )
            continue
        event = record.to_event()
        if isinstance(event, DeliveryContentsRecorded) and patient_ref in event.patient_refs:
            found.add((event.registration, event.period, event.version))
    by_version = {entry.where: entry for entry in sent.values()}
    answer = []
    for where in found:
        receipt = _receipt(by_version.get(where))
        if receipt is not None:
            answer.append(DeliveryRef(*where, receipt=receipt))
    return tuple(sorted(answer))
