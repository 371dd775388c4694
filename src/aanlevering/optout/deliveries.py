"""Which deliveries contained a patient? Answered from the log, by patient reference only.

When a patient opts out later, the registry holder may ask to delete what
was delivered before; the hospital must say which deliveries held that
patient. The delivery step records, per delivered dataset version, the
patient references it contained (:func:`record_delivery_contents`);
:func:`deliveries_containing` searches those records for one reference,
which the caller computes by hashing the MRN locally (``PatientRefHasher``).

The search reads the ``DeliveryContentsRecorded`` events in log order: one
pass over the log, which is fine for the occasional deletion request. A
lookup table can be added as a projection if it ever needs to be fast.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from aanlevering.errors import EventStoreError
from aanlevering.events.store import EventStore
from aanlevering.obligation.service import append_missing
from aanlevering.optout.events import (
    CONTENTS_PART_SIZE,
    DeliveryContentsRecorded,
    contents_stream,
    derived_id,
)
from aanlevering.pseudonym.patient_ref import all_patient_refs, is_patient_ref


@dataclass(frozen=True, order=True)
class DeliveryRef:
    """One delivered dataset version: what ``optout deliveries`` prints (nothing else)."""

    registration: str
    period: str
    version: int


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
    found: set[DeliveryRef] = set()
    for record in store.read_all():
        if record.event_type != DeliveryContentsRecorded.event_type:
            continue
        if record.schema_version == DeliveryContentsRecorded.schema_version:
            payload = record.payload  # the stored shape is current: skip decoding every part
            if patient_ref in payload.get("patient_refs", ()):
                found.add(
                    DeliveryRef(
                        str(payload["registration"]),
                        str(payload["period"]),
                        int(payload["version"]),
                    )
                )
            continue
        event = record.to_event()
        if isinstance(event, DeliveryContentsRecorded) and patient_ref in event.patient_refs:
            found.add(DeliveryRef(event.registration, event.period, event.version))
    return tuple(sorted(found))
