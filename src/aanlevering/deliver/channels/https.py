"""HTTPS channel: upload files to the registry holder, then commit with the manifest.

Protocol (OpenAPI in ``schemas/openapi/registry-holder.openapi.json``):

* ``PUT {endpoint}/{key}/files/{name}`` streams one data file;
* ``POST {endpoint}/{key}/commit`` with the manifest: the receiver verifies
  checksums and content and answers with a receipt (``duplicate`` true when
  the key was committed before);
* ``GET {endpoint}/{key}/receipt`` returns the receipt of a committed key, so
  a run that died between sending and receipt can pick it up;
* ``GET {endpoint}?period=P`` lists the versions of a period the receiver
  holds for this provider (decision 0460).

Every receipt is checked against the manifest sent (provider, key, manifest
sha256, record counts) before it is returned: an earlier receipt is adopted
only when it is this delivery's (decision 0221).

Files are streamed, never loaded whole, so large deliveries fit in memory.
TLS settings come from :class:`~aanlevering.tls.ClientTLS`: ``http://`` is
refused unless loopback or explicitly allowed, and a certificate failure is a
rejection (fix the configuration), never retried. Redirects are not followed:
a 3xx is a rejection, so nothing is sent past the configured endpoint
(decision 0360). Answers are read no further than 1 MiB (decision 0401): a
longer receipt is a DeliveryError, never "delivered". An answer of the
project's reference holder stops the channel outside demo mode, at the first
request (decision 0710).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from aanlevering import json_input
from aanlevering.bounded_answers import LIMIT_TEXT, read_capped
from aanlevering.deliver.held import KINDS, HeldVersion, Holdings, ListingUnavailable, keep_own
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import (
    Receipt,
    RejectedDelivery,
    RetryableDeliveryError,
    adopt_existing,
    verify_receipt,
)
from aanlevering.demo_mode import REFERENCE_HEADER, refuse_reference
from aanlevering.errors import DeliveryError
from aanlevering.tls import ClientTLS, is_certificate_error, redirect_refusal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Answer:
    """The receiver's answer: status, headers, and its body read no further than the cap."""

    response: requests.Response  # closed; for the status and headers only
    body: bytes
    whole: bool

    @property
    def status_code(self) -> int:
        return self.response.status_code


@dataclass(frozen=True)
class HttpsChannel:
    """Client side of the registry holder's delivery endpoint."""

    endpoint: str
    api_key: str = field(repr=False)  # never in a log line or a traceback
    timeout: float = 60.0
    name: str = "https"
    tls: ClientTLS = field(default_factory=ClientTLS)
    #: A forwarder (the TTP in local mode) names the provider it delivers for.
    on_behalf_of: str | None = None
    #: Stop at the first answer of a reference (demo) holder outside demo mode (0710).
    #: Only the reference TTP's own forwarder, itself a demo service, turns this off.
    refuse_reference: bool = True

    def __post_init__(self) -> None:
        self.tls.check_url(self.endpoint, f"{self.name} channel")

    def _unreachable(self, error: requests.RequestException, what: str) -> DeliveryError:
        if is_certificate_error(error):
            return RejectedDelivery(
                f"TLS verification of the registry holder failed ({what}); check the CA bundle "
                f"and client certificate: {error}"
            )
        return RetryableDeliveryError(f"{what}: {error}")

    def _exchange(self, method: str, url: str, unreachable: str, **kwargs: Any) -> _Answer:
        """One request (no redirects followed); its answer read no further than the cap."""
        try:
            with requests.request(
                method,
                url,
                timeout=self.timeout,
                verify=self.tls.verify,
                cert=self.tls.cert,
                allow_redirects=False,
                stream=True,
                **kwargs,
            ) as response:
                body, whole = read_capped(response)
        except requests.RequestException as error:
            raise self._unreachable(error, unreachable) from error
        if self.refuse_reference and response.headers.get(REFERENCE_HEADER):
            # Before a file is sent: the first request of a send is the receipt lookup.
            refuse_reference("registry holder", self.endpoint)
        return _Answer(response, body, whole)

    def _url(self, manifest: Manifest, *parts: str) -> str:
        key = quote(manifest.idempotency_key, safe="")
        return "/".join([self.endpoint.rstrip("/"), key, *(quote(p, safe="") for p in parts)])

    def _auth_headers(self) -> dict[str, str]:
        # Without an API key the client certificate (mTLS) identifies the hospital.
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        if self.on_behalf_of:
            headers["On-Behalf-Of"] = self.on_behalf_of
        return headers

    def _headers(self, manifest: Manifest) -> dict[str, str]:
        return {**self._auth_headers(), "Idempotency-Key": manifest.idempotency_key}

    def held_versions(self, provider: str, registration: str, period: str) -> Holdings:
        """The versions of the period the registry holder holds receipted for this provider.

        One request per run (decision 0460); an unreachable holder is a
        RetryableDeliveryError, one without the listing (404, 405, 501)
        ListingUnavailable, an answer that is no listing a DeliveryError.
        """
        answer = self._exchange(
            "GET",
            self.endpoint.rstrip("/"),
            "registry holder unreachable (asking which versions it holds)",
            headers=self._auth_headers(),
            params={"period": period},
        )
        if answer.status_code in {404, 405, 501}:
            raise ListingUnavailable(
                f"the registry holder at {self.endpoint} offers no listing of the versions it "
                f"holds (HTTP {answer.status_code})"
            )
        self._raise_for(answer, "the listing of held versions")
        data = _json(answer, "the listing of held versions")
        listing = data.get("versions")
        if not isinstance(listing, list) or not all(isinstance(i, dict) for i in listing):
            raise DeliveryError(
                "the registry holder's listing of held versions has no list of versions"
            )
        try:
            found = [
                HeldVersion(
                    version=int(item["version"]),
                    idempotency_key=str(item["idempotency_key"]),
                    receipt_id=str(item.get("receipt_id", "")),
                    receiver=str(data.get("receiver", "")),
                    received_at=str(item.get("received_at", "")),
                    kind=str(item.get("kind", "")) if item.get("kind") in KINDS else "",
                )
                for item in listing
            ]
        except (KeyError, TypeError, ValueError):
            raise DeliveryError(
                "the registry holder's listing of held versions has an entry without a "
                "version number or key"
            ) from None
        return Holdings(
            registration, period, keep_own(found, provider, registration, period), self.name
        )

    def _raise_for(self, answer: _Answer, what: str) -> None:
        if 300 <= answer.status_code < 400:
            raise RejectedDelivery(redirect_refusal("registry holder", what, answer.response))
        if answer.status_code < 400:
            return
        detail = answer.body[:500].decode("utf-8", errors="replace")
        message = f"registry holder refused {what}: HTTP {answer.status_code}: {detail}"
        if answer.status_code >= 500 or answer.status_code in {408, 429}:
            raise RetryableDeliveryError(message)
        raise RejectedDelivery(message)

    def fetch_receipt(self, manifest: Manifest) -> Receipt | None:
        """The receipt for this key if the receiver has one, else None."""
        answer = self._exchange(
            "GET",
            self._url(manifest, "receipt"),
            "registry holder unreachable",
            headers=self._headers(manifest),
        )
        if answer.status_code == 404:
            return None
        self._raise_for(answer, "the receipt request")
        return Receipt.from_mapping(_json(answer, "the receipt request"), self.name)

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        """Upload every file (streamed), then commit; only this delivery's receipt is reused."""
        existing = self.fetch_receipt(manifest)
        if existing is not None:
            receipt = adopt_existing(existing, manifest)
            log.info("delivery %s was already receipted", manifest.idempotency_key)
            return receipt
        unfinished = f"delivery {manifest.idempotency_key} not completed"
        for item in manifest.transferred():
            with (folder / item.name).open("rb") as body:
                answer = self._exchange(
                    "PUT",
                    self._url(manifest, "files", item.name),
                    unfinished,
                    data=body,
                    headers={**self._headers(manifest), "Content-Type": item.media_type},
                )
            self._raise_for(answer, f"file {item.name}")
        answer = self._exchange(
            "POST",
            self._url(manifest, "commit"),
            unfinished,
            data=manifest.to_json().encode("utf-8"),
            headers={**self._headers(manifest), "Content-Type": "application/json"},
        )
        if answer.status_code == 409:
            # The key is taken: by this very delivery (a race) or by other content. Only
            # a receipt naming this provider and key can say so (adopt_existing): any
            # other is a mismatch, never a version taken (which counts as receipted).
            existing = self.fetch_receipt(manifest)
            if existing is not None:
                return adopt_existing(existing, manifest)
        self._raise_for(answer, "the delivery")
        return verify_receipt(
            Receipt.from_mapping(_json(answer, "the delivery"), self.name), manifest
        )


def _json(answer: _Answer, what: str) -> dict[str, Any]:
    """The answer's JSON object; a longer or any other body is an error, never success."""
    if not answer.whole:
        raise RejectedDelivery(
            f"the registry holder's answer to {what} is larger than {LIMIT_TEXT} (a receipt is "
            "a few hundred bytes); it was not read. The delivery is NOT recorded as delivered."
        )
    try:
        data = json_input.parse(answer.body)
    except json_input.JsonInputError:
        data = None
    if not isinstance(data, dict):
        raise DeliveryError(
            f"receiver sent an invalid receipt: HTTP {answer.status_code} without a JSON object"
        )
    return data
