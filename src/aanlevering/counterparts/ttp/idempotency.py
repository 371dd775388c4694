"""Idempotent request ids: a retry gets the stored answer, a reused id with another body gets 409.

Answers are kept per (organisation, endpoint, request id) with a SHA-256
fingerprint of the request, in a least-recently-used cache bounded by the
total size of the stored answers (decision 0044). An evicted id is served
again from scratch, which is harmless: the same inputs give the same
pseudonyms, because every construction is deterministic.

The fingerprints alone are also kept on disk (``request-ids.jsonl`` next to
the config, decision 1026): after a restart, or once an answer was evicted or
too large to keep, a request id reused with another body is still refused,
where it used to be served as new. The file holds ids, endpoints and hashes
of whole requests, no values; it grows by one line per served request id.

Requests under one (organisation, endpoint, request id) run one at a time
(decision 1052): a second request that arrives while the first is computed
waits for it, then is answered from it (the same body) or refused with 409
(another body). Two different bodies were both computed and answered, and in
local mode both forwarded.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aanlevering.counterparts.ttp.refusal import Refusal

#: The ledger of served request ids, next to the config (as source-key-checks.json).
LEDGER_NAME = "request-ids.jsonl"

RequestKey = tuple[str, str, str]


@dataclass(frozen=True)
class StoredAnswer:
    """A cached response body and the fingerprint of the request that made it."""

    fingerprint: str
    body: bytes


class FingerprintLedger:
    """Every served request id's fingerprint, appended to a file and read back at start."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._known: dict[RequestKey, str] = {}
        self._cut_short = False  # the last line lacks its end: the next one starts afresh
        if path is not None and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            self._cut_short = bool(text) and not text.endswith("\n")
            for line in text.splitlines():
                try:
                    entry = json.loads(line)
                    key = (entry["organisation"], entry["endpoint"], entry["request_id"])
                    self._known[key] = str(entry["fingerprint"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash: its request was never answered

    def get(self, key: RequestKey) -> str | None:
        """The fingerprint served under ``key``, or None."""
        return self._known.get(key)

    def add(self, key: RequestKey, fingerprint: str) -> None:
        """Remember ``key``'s fingerprint, on disk first (fsynced), before the answer goes out."""
        if self._known.get(key) == fingerprint:
            return
        if self._path is not None:
            organisation, endpoint, request_id = key
            line = json.dumps(
                {
                    "organisation": organisation,
                    "endpoint": endpoint,
                    "request_id": request_id,
                    "fingerprint": fingerprint,
                },
                separators=(",", ":"),
            )
            descriptor = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                start = "\n" if self._cut_short else ""
                os.write(descriptor, (start + line + "\n").encode("utf-8"))
                os.fsync(descriptor)
                self._cut_short = False
            finally:
                os.close(descriptor)
        self._known[key] = fingerprint


class IdempotencyCache:
    """Bounded LRU of answers by (organisation, endpoint, request id), over a fingerprint ledger."""

    def __init__(self, max_bytes: int, ledger: Path | None = None) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[RequestKey, StoredAnswer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._ledger = FingerprintLedger(ledger)
        #: One lock per request id being computed, and how many requests hold or wait for it.
        self._running: dict[RequestKey, tuple[threading.Lock, int]] = {}

    @contextmanager
    def one_at_a_time(self, key: RequestKey) -> Iterator[None]:
        """Hold ``key`` for one lookup-compute-store; a second request under it waits.

        Why: lookup and store are each atomic, but the work between them is
        not; without this, two requests under one id with different bodies
        both missed the cache and were both computed and answered (1052).
        """
        with self._lock:
            lock, users = self._running.get(key, (threading.Lock(), 0))
            self._running[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, users = self._running[key]
                if users == 1:
                    del self._running[key]
                else:
                    self._running[key] = (lock, users - 1)

    def lookup(self, key: RequestKey, fingerprint: str) -> bytes | None:
        """The stored answer for a repeat; Refusal 409 if the id was used for another request."""
        with self._lock:
            stored = self._entries.get(key)
            if stored is not None:
                self._entries.move_to_end(key)
            served = stored.fingerprint if stored is not None else self._ledger.get(key)
        if served is not None and served != fingerprint:
            raise Refusal(
                409,
                "request_id_reused",
                f"request id {key[2]!r} was already used for a different request to {key[1]}; "
                "use a new request id for new content",
            )
        return stored.body if stored is not None else None

    def store(self, key: RequestKey, fingerprint: str, body: bytes) -> None:
        """Remember an answer, evicting the least recently used ones beyond the bound."""
        with self._lock:
            self._ledger.add(key, fingerprint)
            if len(body) > self._max_bytes:
                return
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
