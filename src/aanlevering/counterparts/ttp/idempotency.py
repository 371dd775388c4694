"""Idempotent request ids: a retry gets the stored answer, a reused id with another body gets 409.

Answers are kept per (organisation, endpoint, request id) with a SHA-256
fingerprint of the request, in a least-recently-used cache bounded by the
total size of the stored answers (decision 0044). An evicted id is served
again from scratch, which is harmless: the same inputs give the same
pseudonyms, because every construction is deterministic.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from aanlevering.counterparts.ttp.refusal import Refusal


@dataclass(frozen=True)
class StoredAnswer:
    """A cached response body and the fingerprint of the request that made it."""

    fingerprint: str
    body: bytes


class IdempotencyCache:
    """Bounded LRU of answers by (organisation, endpoint, request id)."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str, str], StoredAnswer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def lookup(self, key: tuple[str, str, str], fingerprint: str) -> bytes | None:
        """The stored answer for a repeat; Refusal 409 if the id was used for another request."""
        with self._lock:
            stored = self._entries.get(key)
            if stored is None:
                return None
            self._entries.move_to_end(key)
        if stored.fingerprint != fingerprint:
            raise Refusal(
                409,
                "request_id_reused",
                f"request id {key[2]!r} was already used for a different request to {key[1]}; "
                "use a new request id for new content",
            )
        return stored.body

    def store(self, key: tuple[str, str, str], fingerprint: str, body: bytes) -> None:
        """Remember an answer, evicting the least recently used ones beyond the bound."""
        if len(body) > self._max_bytes:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.body)
            self._entries[key] = StoredAnswer(fingerprint, body)
            self._bytes += len(body)
            while self._bytes > self._max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)

    def __len__(self) -> int:
        return len(self._entries)
