"""Local-client mode: hand the pseudonymised delivery to the registry holder.

The TTP speaks the registry holder's own delivery protocol (PUT each file,
POST the manifest to commit, receipt back), by reusing the hospital side's
HTTPS channel, so a registry holder needs one receiving interface for both
modes. The TTP always forwards on behalf of the manifest's provider (the
caller it authenticated), and the channel checks the registry holder's
receipt against the forwarded manifest. Transient failures (connection,
timeout, 5xx) are retried with exponential backoff up to
``forwarding.max_attempts``; a refusal of the content is not retried.
Receivers dedupe on the manifest's idempotency key, so a retry after a lost
receipt does not deliver twice.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aanlevering.counterparts.ttp.config import ForwardingPolicy, Registration
from aanlevering.counterparts.ttp.keys import read_secret_text
from aanlevering.counterparts.ttp.refusal import Refusal
from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import (
    Receipt,
    RejectedDelivery,
    RetryableDeliveryError,
    VersionTaken,
)
from aanlevering.errors import ConfigError, DeliveryError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Forwarded:
    """The registry holder's receipt and how many attempts it took."""

    receipt: Receipt
    attempts: int


class Forwarder:
    """Sends pseudonymised deliveries to the registry holder of their registration."""

    def __init__(
        self, policy: ForwardingPolicy, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._policy = policy
        self._sleep = sleep

    def forward(
        self, registration: Registration, manifest: Manifest, files: Sequence[tuple[str, bytes]]
    ) -> Forwarded:
        """Deliver the files with their manifest; Refusal 422 if refused, 502 if unreachable."""
        if registration.forward_url is None:
            raise Refusal(
                422,
                "local_mode_unavailable",
                f"registration {registration.id!r} has no forwarding endpoint configured",
                registration=registration.id,
            )
        api_key = (
            read_secret_text(registration.forward_api_key_file)
            if registration.forward_api_key_file is not None
            else ""
        )
        try:
            channel = HttpsChannel(
                endpoint=registration.forward_url,
                api_key=api_key,
                timeout=self._policy.timeout_seconds,
                name="ttp-local",
                tls=self._policy.tls,
                on_behalf_of=manifest.provider_id,
                # This TTP is a reference service itself: the receipt (reference: true)
                # goes back to the hospital, whose side refuses it (decision 0710).
                refuse_reference=False,
            )
        except ConfigError as error:
            raise Refusal(
                502, "forward_insecure", str(error), registration=registration.id
            ) from None
        with tempfile.TemporaryDirectory(prefix="ttp-forward-") as staging:
            folder = Path(staging)
            for name, data in files:
                (folder / name).write_bytes(data)
            return self._send(channel, folder, manifest, registration.id)

    def _send(
        self, channel: HttpsChannel, folder: Path, manifest: Manifest, registration: str
    ) -> Forwarded:
        last_problem = ""
        for attempt in range(1, self._policy.max_attempts + 1):
            try:
                receipt = channel.send(folder, manifest)
            except VersionTaken as error:
                raise Refusal(
                    409,
                    "version_taken",
                    f"the registry holder of {registration!r} already holds "
                    f"{manifest.idempotency_key} from {manifest.provider_id} with other content "
                    f"(receipt {error.receipt.receipt_id if error.receipt else 'unknown'}).",
                    registration=registration,
                ) from None
            except RejectedDelivery as error:
                raise Refusal(
                    422,
                    "forward_rejected",
                    f"the registry holder of {registration!r} refused the delivery: {error}",
                    registration=registration,
                ) from None
            except RetryableDeliveryError as error:
                last_problem = str(error)
                log.warning(
                    "forwarding %s attempt %d/%d failed",
                    manifest.idempotency_key,
                    attempt,
                    self._policy.max_attempts,
                )
            except DeliveryError as error:
                last_problem = str(error)
                log.warning("forwarding %s: invalid receipt", manifest.idempotency_key)
            else:
                log.info("forwarded %s after %d attempt(s)", manifest.idempotency_key, attempt)
                return Forwarded(receipt=receipt, attempts=attempt)
            if attempt < self._policy.max_attempts:
                self._sleep(self._policy.backoff_seconds * 2 ** (attempt - 1))
        raise Refusal(
            502,
            "forward_failed",
            f"forwarding to the registry holder of {registration!r} failed after "
            f"{self._policy.max_attempts} attempts: {last_problem}",
            registration=registration,
        )
