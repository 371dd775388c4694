"""Remember which receivers answered the listing of held versions (decision 0455).

Why: a registry holder of the protocol before decision 0462 answers the
listing with 404, 405 or 501, and for it the event log alone decides. The
same answer from a receiver that *did* list before is a proxy, middlebox or
misconfiguration, and trusting the log then brings back a false "already
delivered" after a restore. One small event per registration and endpoint
(a digest, no text of the endpoint) is enough to tell the two apart.
"""

from __future__ import annotations

import hashlib

from aanlevering.deliver.events import ReceiverListingAnswered
from aanlevering.events.store import EventStore


def listing_stream(registration: str) -> str:
    """Stream of the listing answers of one registration's receivers."""
    return f"receiver-listing-{registration}"


def endpoint_digest(endpoint: str) -> str:
    """A digest naming the endpoint without its text (which may hold credentials)."""
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()[:32]


def answered_before(store: EventStore, registration: str, endpoint: str) -> bool:
    """Whether this registration's receiver at ``endpoint`` answered the listing once."""
    digest = endpoint_digest(endpoint)
    return any(
        record.payload.get("endpoint_digest") == digest
        for record in store.read_stream(listing_stream(registration))
    )


def remember_answer(store: EventStore, registration: str, endpoint: str) -> None:
    """Record that the receiver at ``endpoint`` answered the listing (once only)."""
    if answered_before(store, registration, endpoint):
        return
    store.append(
        listing_stream(registration),
        [
            ReceiverListingAnswered(
                registration=registration, endpoint_digest=endpoint_digest(endpoint)
            )
        ],
        None,
    )
