"""Receipts: the registry holder's (or channel's) acknowledgement of one delivery.

A receipt is bound to content: it names the provider, the idempotency key,
the sha256 of the provider's manifest and the record counts. The client
accepts it only when all four match what it sent (:func:`verify_receipt`),
so a receipt of another hospital, or of an earlier delivery under the same
key, is never taken for this one (decision 0221).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from aanlevering.errors import DeliveryError

if TYPE_CHECKING:
    from aanlevering.deliver.manifest import Manifest


@dataclass(frozen=True)
class Receipt:
    """Proof that a delivery arrived whole; a delivery counts only once receipted.

    ``duplicate`` is true when the receiver had already accepted this
    idempotency key (a retry); the receipt is then the original one.
    ``manifest_sha256`` is the sha256 of the manifest the provider made
    (:meth:`Manifest.provider_sha256`). ``reference`` is true in every receipt
    of the project's reference registry holder: no registry received anything,
    so outside demo mode it is never taken as a delivery (decision 0710).
    """

    idempotency_key: str
    receipt_id: str
    received_at: str
    receiver: str
    channel: str
    record_counts: Mapping[str, int] = field(default_factory=dict)
    duplicate: bool = False
    provider: str = ""
    manifest_sha256: str = ""
    reference: bool = False

    def to_json(self) -> str:
        """JSON form, as receivers return and the outbox stores it."""
        return json.dumps(asdict(self), sort_keys=True, indent=2)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], channel: str) -> Receipt:
        """Parse a receiver's JSON answer; InvalidReceipt when it cannot be proof.

        Counts must be JSON integers (not booleans), non-negative: a receipt
        saying ``"5"`` or ``true`` does not say the holder counted 5 or 1, and
        Python would compare ``True == 1`` as equal (decision 0594).
        """
        try:
            return cls(
                idempotency_key=str(raw["idempotency_key"]),
                receipt_id=str(raw["receipt_id"]),
                received_at=str(raw["received_at"]),
                receiver=str(raw["receiver"]),
                channel=channel,
                record_counts=_counts(raw.get("record_counts", {})),
                duplicate=_flag(raw.get("duplicate", False), "duplicate"),
                provider=str(raw.get("provider", "")),
                manifest_sha256=str(raw.get("manifest_sha256", "")),
                reference=_flag(raw.get("reference", False), "reference"),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidReceipt(f"receiver sent an invalid receipt: {error}") from error


def _counts(value: object) -> dict[str, int]:
    """Record counts of a receipt: an object of non-negative JSON integers, else ValueError."""
    if not isinstance(value, Mapping):
        raise ValueError(
            f"record_counts: expected an object of non-negative integers, got {_kind(value)}"
        )
    counts: dict[str, int] = {}
    for name, count in value.items():
        if not is_json_count(count):
            raise ValueError(
                f"record_counts.{name}: expected a non-negative integer, got {_kind(count)}"
            )
        counts[str(name)] = count
    return counts


def is_json_count(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a count as JSON gives it: a non-negative integer, no boolean.

    Receipts and the TTP's answers are proof only when their counts are (decision 0594).
    """
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _flag(value: object, name: str) -> bool:
    """A flag of the receipt: a JSON boolean (``"false"`` is no false), else ValueError."""
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    """What a value is, for messages; never the value itself beyond a number or flag."""
    if value is None:
        return "null"
    if isinstance(value, bool | int | float):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__


class RetryableDeliveryError(DeliveryError):
    """The channel or receiver failed in a way a later retry may fix (down, 5xx, timeout)."""


class RejectedDelivery(DeliveryError):
    """The receiver refused the content (checksum, manifest, FHIR); a retry will not help."""


class ReceiptMismatch(RejectedDelivery):
    """The receipt that came back is not the receipt of what was sent; never success."""


class InvalidReceipt(ReceiptMismatch):
    """The receiver's answer is no receipt (a field missing, a count that is no integer).

    A ReceiptMismatch: the attempt is recorded as failed and the delivery is
    never recorded as delivered (decision 0594).
    """


class VersionTaken(RejectedDelivery):
    """The receiver already holds this provider's key with other content.

    Happens when an earlier run (e.g. before the hospital's home was wiped)
    delivered this version and this hospital's log no longer knows it.
    ``receipt`` is the receiver's receipt of that earlier delivery, so the
    ledger can record that the version is taken and the next run delivers
    the new content as the next version.
    """

    def __init__(self, message: str, receipt: Receipt | None) -> None:
        super().__init__(message)
        self.receipt = receipt


def receipt_problems(receipt: Receipt, manifest: Manifest) -> list[str]:
    """How ``receipt`` differs from what ``manifest`` sent (empty: it is this delivery's).

    Each as "what: expected <sent>, got <in the receipt>" (decision 0842): ids,
    a digest's first digits and record counts, never any record.
    """
    problems = []
    if receipt.provider != manifest.provider_id:
        problems.append(f"provider: expected {manifest.provider_id!r}, got {receipt.provider!r}")
    if receipt.idempotency_key != manifest.idempotency_key:
        problems.append(
            f"idempotency key: expected {manifest.idempotency_key!r}, "
            f"got {receipt.idempotency_key!r}"
        )
    if receipt.manifest_sha256 != manifest.provider_sha256():
        problems.append(
            f"manifest sha256: expected {manifest.provider_sha256()[:16]}..., "
            f"got {receipt.manifest_sha256[:16] or '(none)'}..."
        )
    if dict(receipt.record_counts) != dict(manifest.record_counts):
        problems.append(
            f"record counts: expected {dict(manifest.record_counts)}, "
            f"got {dict(receipt.record_counts)}"
        )
    return problems


def verify_receipt(receipt: Receipt, manifest: Manifest) -> Receipt:
    """Return ``receipt`` if it is the receipt of ``manifest``; ReceiptMismatch otherwise."""
    problems = receipt_problems(receipt, manifest)
    if problems:
        raise ReceiptMismatch(
            f"receipt {receipt.receipt_id} from {receipt.receiver} did not match what was sent "
            f"as {manifest.idempotency_key}: {'; '.join(problems)}. "
            "The delivery is NOT recorded as delivered."
        )
    return receipt


def taken_by_other_content(receipt: Receipt, manifest: Manifest) -> VersionTaken:
    """The error for a receipt of this provider and key but of other content."""
    return VersionTaken(
        f"the receiver already holds {manifest.idempotency_key} from {manifest.provider_id} "
        f"with other content (receipt {receipt.receipt_id} of {receipt.received_at}), "
        "delivered by an earlier run this hospital's log does not know (e.g. before its home "
        "was wiped). This content was NOT delivered; the ledger now records that version, "
        "and the next run delivers this content as the next version, superseding it.",
        receipt,
    )


def adopt_existing(receipt: Receipt, manifest: Manifest) -> Receipt:
    """An earlier receipt under this key: ours (duplicate) if it matches, else VersionTaken.

    A receipt naming another provider or key is a plain ReceiptMismatch.
    """
    if receipt.provider == manifest.provider_id and (
        receipt.idempotency_key == manifest.idempotency_key
    ):
        if receipt_problems(receipt, manifest):
            raise taken_by_other_content(receipt, manifest)
        return Receipt(**{**receipt.__dict__, "duplicate": True})
    return verify_receipt(receipt, manifest)
