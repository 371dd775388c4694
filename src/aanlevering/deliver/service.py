"""Send a staged delivery with retries and record what happened.

At least once, never twice: every attempt uses the same idempotency key, the
receiver dedupes, and the delivery counts only when a receipt comes back that
names this provider, key, manifest sha256 and record counts (decision 0221);
any other receipt is a failed delivery, never success. A receipt of the
project's reference holder is one too, outside demo mode (decision 0710).
Before each attempt a guard re-checks that delivery is still allowed, so a
negative register decision taken while the run was busy stops it before any
byte leaves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from aanlevering.actor import current_actor
from aanlevering.deliver.channels import Channel
from aanlevering.deliver.events import (
    DeliveryAborted,
    DeliveryAttemptFailed,
    DeliveryReceipted,
    DeliveryVersionTaken,
    delivery_stream,
)
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import (
    Receipt,
    ReceiptMismatch,
    RejectedDelivery,
    RetryableDeliveryError,
    VersionTaken,
    verify_receipt,
)
from aanlevering.demo_mode import ReferenceCounterpart, refuse_reference
from aanlevering.errors import DeliveryError, NoObligation, OptOutArrived
from aanlevering.events.store import EventStore
from aanlevering.shown_names import shown_text

log = logging.getLogger(__name__)

#: Raises NoObligation when delivery is no longer allowed, OptOutArrived when a patient
#: of the delivery opted out since the run applied its opt-outs.
Guard = Callable[[], None]


def send_with_retries(
    channel: Channel,
    folder: Path,
    manifest: Manifest,
    store: EventStore,
    *,
    guard: Guard | None = None,
    attempts: int = 5,
    backoff_seconds: float = 1.0,
    max_backoff_seconds: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Receipt:
    """Send until receipted or out of attempts; append events for each outcome.

    Raises NoObligation or OptOutArrived (nothing sent, DeliveryAborted recorded) when the
    guard refuses, RejectedDelivery
    when the receiver refuses the content, and DeliveryError when every attempt
    failed (the delivery stays unreceipted and is retried by a later run).
    """
    stream = delivery_stream(manifest.registration, manifest.period)
    key = manifest.idempotency_key
    for attempt in range(1, attempts + 1):
        if guard is not None:
            try:
                guard()
            except (NoObligation, OptOutArrived) as refusal:
                store.append(
                    stream,
                    [
                        DeliveryAborted(
                            registration=manifest.registration,
                            period=manifest.period,
                            idempotency_key=key,
                            reason=str(refusal),
                            provider=manifest.provider_id,
                            actor=current_actor(),
                        )
                    ],
                    None,
                )
                raise
        try:
            receipt = verify_receipt(channel.send(folder, manifest), manifest)
            _no_reference_receipt(receipt)
        except ReferenceCounterpart as error:
            _record_failure(store, stream, manifest, attempt, retryable=False, reason=str(error))
            raise
        except VersionTaken as error:
            _record_failure(store, stream, manifest, attempt, retryable=False, reason=str(error))
            if error.receipt is not None:
                _no_reference_receipt(error.receipt)
            _record_taken(store, stream, manifest, error.receipt)
            raise
        except RejectedDelivery as error:
            _record_failure(
                store,
                stream,
                manifest,
                attempt,
                retryable=False,
                reason=str(error),
                receipt_mismatch=isinstance(error, ReceiptMismatch),
            )
            raise
        except RetryableDeliveryError as error:
            # Retryable on the last attempt too: nothing was refused, and a later run or the
            # retry DAG sends it again; "rejected" would say the receiver refused it (0591).
            _record_failure(store, stream, manifest, attempt, retryable=True, reason=str(error))
            if attempt == attempts:
                raise DeliveryError(
                    f"delivery {key} not receipted after {attempts} attempts: {error}"
                ) from error
            delay = min(max_backoff_seconds, backoff_seconds * 2 ** (attempt - 1))
            log.warning("delivery %s attempt %d failed, retrying in %.1f s", key, attempt, delay)
            sleep(delay)
            continue
        store.append(
            stream,
            [
                DeliveryReceipted(
                    registration=manifest.registration,
                    period=manifest.period,
                    version=manifest.version,
                    idempotency_key=key,
                    receipt_id=receipt.receipt_id,
                    receiver=receipt.receiver,
                    channel=receipt.channel,
                    received_at=receipt.received_at,
                    duplicate=receipt.duplicate,
                    provider=receipt.provider,
                    manifest_sha256=receipt.manifest_sha256,
                    actor=current_actor(),
                )
            ],
            None,
        )
        log.info("delivery %s receipted (%s)", key, receipt.receipt_id)
        return receipt
    raise AssertionError("unreachable")  # pragma: no cover


def _no_reference_receipt(receipt: Receipt) -> None:
    """ReferenceCounterpart for a receipt of the reference holder outside demo mode (0710).

    Why here too, after the channel's own check: whatever channel brought it
    (SFTP, the TTP's forwarding), a reference receipt is never recorded as a
    delivery, nor as a version the receiver holds.
    """
    if receipt.reference:
        refuse_reference("registry holder", f"{receipt.receiver} ({receipt.channel})")


def _record_failure(
    store: EventStore,
    stream: str,
    manifest: Manifest,
    attempt: int,
    *,
    retryable: bool,
    reason: str,
    receipt_mismatch: bool = False,
) -> None:
    store.append(
        stream,
        [
            DeliveryAttemptFailed(
                registration=manifest.registration,
                period=manifest.period,
                idempotency_key=manifest.idempotency_key,
                attempt=attempt,
                retryable=retryable,
                # A channel's error names its folder or URL: as decision 0730 shows it (0903).
                reason=shown_text(reason)[:1000],
                receipt_mismatch=receipt_mismatch,
                provider=manifest.provider_id,
                actor=current_actor(),
            )
        ],
        None,
    )


def _record_taken(
    store: EventStore, stream: str, manifest: Manifest, receipt: Receipt | None
) -> None:
    """The receiver holds this version with other content (its receipt, when it was shown)."""
    store.append(
        stream,
        [
            DeliveryVersionTaken(
                registration=manifest.registration,
                period=manifest.period,
                version=manifest.version,
                idempotency_key=manifest.idempotency_key,
                receipt_id=receipt.receipt_id if receipt else "",
                receiver=receipt.receiver if receipt else "",
                received_at=receipt.received_at if receipt else "",
                provider=manifest.provider_id,
            )
        ],
        None,
    )
