"""Facts the delivery step records. No patient data: keys, counts, receipts.

All events of one delivery go to the stream ``delivery-<registration>-<period>``,
so the ledger can be projected per registration and period. ``provider`` names
the hospital that delivers (empty in events written before it was recorded).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aanlevering.deliver.accounting import Accounting
from aanlevering.events.model import DomainEvent
from aanlevering.events.registry import upcaster


def delivery_stream(registration: str, period: str) -> str:
    """Stream of every delivery fact of one registration and period."""
    return f"delivery-{registration}-{period}"


@dataclass(frozen=True, kw_only=True)
class DeliveryStaged(DomainEvent):
    """A dataset version was built and is ready to send."""

    event_type: ClassVar[str] = "deliver.DeliveryStaged"
    #: 2 added ``input_withheld`` (decision 0730): a worker that would retry from
    #: ``input_path`` as a real path refuses the log instead. 3 added ``outbox_withheld``
    #: (decision 0903), for the same reason of ``outbox``.
    schema_version: ClassVar[int] = 3

    registration: str
    period: str
    version: int
    idempotency_key: str
    channel: str
    format: str
    record_counts: Mapping[str, int] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    manifest_sha256: str = ""
    supersedes: str | None = None
    kind: str = "delivery"
    validation_report: str | None = None
    excluded_optouts: int = 0
    content_sha256: str = ""
    #: The registration config's print this version was built under ("" in older events).
    config_sha256: str = ""
    provider: str = ""
    #: Who ran it (aanlevering.actor); None in events written before actors were recorded.
    actor: str | None = None
    #: Every record of the run accounted for (deliver/accounting.py); None in older events.
    accounting: Accounting | None = None
    #: The EHR extract the run read and the outbox it delivered into ("": none), so the
    #: hourly retry reruns that input, never the registration's default (decision 0665).
    #: "" for input_path in older events and retractions.
    input_path: str = ""
    outbox: str = ""
    #: ``input_path`` is the path as decision 0730 shows it, a part of it whose name may
    #: name a patient replaced by its place in its folder: no retry can read it again.
    input_withheld: bool = False
    #: ``outbox`` is the folder as decision 0730 shows it, a part withheld (0903).
    outbox_withheld: bool = False


@upcaster("deliver.DeliveryStaged", from_version=1)
def _staged_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 recorded the input path as it was (or none): nothing was withheld."""
    payload.setdefault("input_withheld", False)
    return payload


@upcaster("deliver.DeliveryStaged", from_version=2)
def _staged_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 2 recorded the outbox as it was typed (or none): nothing was withheld."""
    payload.setdefault("outbox_withheld", False)
    return payload


@dataclass(frozen=True, kw_only=True)
class DeliveryAttemptFailed(DomainEvent):
    """One attempt to send failed; ``retryable`` says whether sending again may succeed.

    True for a receiver that was down or answered 5xx, also on a run's last
    attempt (a later run or the retry DAG sends it again; decision 0591); false
    when the receiver refused the content, which the ledger shows as rejected.
    """

    event_type: ClassVar[str] = "deliver.DeliveryAttemptFailed"

    registration: str
    period: str
    idempotency_key: str
    attempt: int
    retryable: bool
    reason: str
    provider: str = ""
    #: Who ran it (aanlevering.actor); None in events written before actors were recorded.
    actor: str | None = None
    #: The receiver answered with a receipt that did not match what was sent (0842): not a
    #: refusal, it may hold the version. False in events written before it was recorded.
    receipt_mismatch: bool = False


@dataclass(frozen=True, kw_only=True)
class DeliveryReceipted(DomainEvent):
    """The receiver acknowledged the delivery: from now on it counts."""

    event_type: ClassVar[str] = "deliver.DeliveryReceipted"

    registration: str
    period: str
    version: int
    idempotency_key: str
    receipt_id: str
    receiver: str
    channel: str
    received_at: str
    duplicate: bool = False
    provider: str = ""
    manifest_sha256: str = ""
    #: Who ran it (aanlevering.actor); None in events written before actors were recorded.
    actor: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeliveryAborted(DomainEvent):
    """The delivery was stopped before sending (e.g. a negative register decision)."""

    event_type: ClassVar[str] = "deliver.DeliveryAborted"

    registration: str
    period: str
    idempotency_key: str
    reason: str
    provider: str = ""
    #: Who ran it (aanlevering.actor); None in events written before actors were recorded.
    actor: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeliveryVersionTaken(DomainEvent):
    """The receiver already holds this version from this provider with other content.

    An earlier run this log does not know delivered it (e.g. before the home
    was wiped); the receipt named here is that delivery's. The ledger counts
    the version as receipted with unknown content, so the next run delivers
    as the next version and supersedes it (decision 0221).
    """

    event_type: ClassVar[str] = "deliver.DeliveryVersionTaken"
    #: 2 added ``kind`` (decision 0456): a worker that would read a taken
    #: retraction as a delivery refuses the log instead of counting it.
    schema_version: ClassVar[int] = 2

    registration: str
    period: str
    version: int
    idempotency_key: str
    receipt_id: str
    receiver: str
    received_at: str
    provider: str = ""
    #: ``delivery`` or ``retraction`` as the receiver said; "" when it did not say
    #: (and in version 1 events): the ledger keeps what it knew, a delivery by default.
    kind: str = ""


@upcaster("deliver.DeliveryVersionTaken", from_version=1)
def _taken_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 did not record the kind: unknown, read as before."""
    payload.setdefault("kind", "")
    return payload


@dataclass(frozen=True, kw_only=True)
class HandOffConfirmed(DomainEvent):
    """The hospital confirmed the registry holder received a version placed in an outbox.

    The outbox's own receipt says only that the files were placed whole for a
    manual upload; from this fact on the version counts as delivered, received
    on ``received_on`` (decision 0794).
    """

    event_type: ClassVar[str] = "deliver.HandOffConfirmed"

    registration: str
    period: str
    version: int
    idempotency_key: str
    #: The day the registry holder received it (ISO date), as the hospital says.
    received_on: str
    provider: str = ""
    actor: str | None = None


@dataclass(frozen=True, kw_only=True)
class HandOffAbandoned(DomainEvent):
    """The hospital gave up a version placed in an outbox whose upload it never confirmed.

    Why: a registration switched from the outbox to HTTPS (or the outbox
    removed) found the unconfirmed hand-over taking the content's version, and
    every rerun stopped at ``already-handed-over``. From this fact on the
    version is ``abandoned``: never delivered, never confirmed, and the same
    content goes out as the next version; if it was uploaded after all, the
    registry holder may hold it until that next version replaces it (0843).
    """

    event_type: ClassVar[str] = "deliver.HandOffAbandoned"

    registration: str
    period: str
    version: int
    idempotency_key: str
    #: Why, in the engineer's words (fixed text, no patient data).
    reason: str
    provider: str = ""
    actor: str | None = None


@dataclass(frozen=True, kw_only=True)
class StagingPurged(DomainEvent):
    """Staged files (which may hold identifiers) were removed after the receipt."""

    event_type: ClassVar[str] = "deliver.StagingPurged"

    registration: str
    period: str
    idempotency_key: str
    files_removed: int


def record_keys_stream(registration: str, period: str, version: int) -> str:
    """Stream of the record digests one delivered version of a period carried."""
    return f"record-keys/{registration}.{period}.v{version}"


@dataclass(frozen=True, kw_only=True)
class RecordKeysDelivered(DomainEvent):
    """Which records one version of a period carries, as keyed digests (decision 0465).

    ``digests`` is the hex text of sorted 8-byte digests, 16 hex digits per
    record: a keyed hash (the hospital's record-key secret, per registration
    and provider) of the dataset and its record key, never the key or the
    source id itself. One event per dataset and part of at most
    :data:`aanlevering.deliver.record_digests.PART_SIZE` records. A later run
    of another period reads them to find records delivered there already.
    """

    event_type: ClassVar[str] = "deliver.RecordKeysDelivered"

    registration: str
    period: str
    version: int
    dataset: str
    part: int
    parts: int
    records: int
    digests: str = ""


@dataclass(frozen=True, kw_only=True)
class ReceiverListingAnswered(DomainEvent):
    """The registration's receiver answered the listing of held versions once (decision 0455).

    From then on a 404, 405 or 501 to the listing from that receiver is not
    "a holder without the listing" (which leaves the log to decide) but a
    receiver that could not be asked: a proxy or middlebox answering 404
    must not bring back "already delivered" from the log alone.
    ``endpoint_digest`` is a digest of the endpoint (never its text, which
    may carry credentials); recorded once per registration and endpoint.
    """

    event_type: ClassVar[str] = "deliver.ReceiverListingAnswered"

    registration: str
    endpoint_digest: str
