"""Delivery channels: one module per way a delivery leaves the hospital."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import Receipt


class Channel(Protocol):
    """Send a staged delivery folder; return the receipt or raise.

    Implementations must be idempotent per ``manifest.idempotency_key``: sending
    the same delivery twice must not make the receiver count it twice. They
    raise :class:`~aanlevering.deliver.receipt.RetryableDeliveryError` for
    transient failures and :class:`~aanlevering.deliver.receipt.RejectedDelivery`
    when the receiver refuses the content.
    """

    @property
    def name(self) -> str:
        """Channel name as recorded in events (https, sftp, outbox ...)."""
        ...

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        """Deliver every file of ``manifest`` from ``folder`` and return the receipt."""
        ...
