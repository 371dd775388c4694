"""Receipts: the registry holder's (or channel's) acknowledgement of one delivery."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from aanlevering.errors import DeliveryError


@dataclass(frozen=True)
class Receipt:
    """Proof that a delivery arrived whole; a delivery counts only once receipted.

    ``duplicate`` is true when the receiver had already accepted this
    idempotency key (a retry); the receipt is then the original one.
    """

    idempotency_key: str
    receipt_id: str
    received_at: str
    receiver: str
    channel: str
    record_counts: Mapping[str, int] = field(default_factory=dict)
    duplicate: bool = False

    def to_json(self) -> str:
        """JSON form, as receivers return and the outbox stores it."""
        return json.dumps(asdict(self), sort_keys=True, indent=2)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], channel: str) -> Receipt:
        """Parse a receiver's JSON answer; DeliveryError when fields are missing."""
        try:
            return cls(
                idempotency_key=str(raw["idempotency_key"]),
                receipt_id=str(raw["receipt_id"]),
                received_at=str(raw["received_at"]),
                receiver=str(raw["receiver"]),
                channel=channel,
                record_counts={
                    str(k): int(v) for k, v in dict(raw.get("record_counts", {})).items()
                },
                duplicate=bool(raw.get("duplicate", False)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise DeliveryError(f"receiver sent an invalid receipt: {error}") from error


class RetryableDeliveryError(DeliveryError):
    """The channel or receiver failed in a way a later retry may fix (down, 5xx, timeout)."""


class RejectedDelivery(DeliveryError):
    """The receiver refused the content (checksum, manifest, FHIR); a retry will not help."""
