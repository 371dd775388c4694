"""A tamper-evident audit trail (NEN 7513 spirit): append-only JSON lines, hash-chained, fsynced.

Each line is one JSON object with ``prev`` (the previous line's ``hash``,
64 zeros for the first) and ``hash``: the SHA-256 of the line's canonical
JSON without ``hash``. Changing, removing or inserting a line breaks the
chain from there on; :func:`verify_chain` names the first line that does not
fit. Each line is written with one ``write`` on an ``O_APPEND`` descriptor
and ``fsync``-ed before the request is answered.

What goes in is the caller's business, but both services log only validated
values: organisation ids from their own config, known route templates,
registrations they hold, counts, outcomes, and the peer address the socket
reported. :data:`REQUEST` carries the peer and credential kind of the
request being served from the limits middleware into the service code
(contextvars follow ``run_in_threadpool``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import deque
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class RequestFacts:
    """Where a request came from and how it authenticated (no secrets)."""

    peer: str
    credential: str  # "api-key", "certificate" or "none"


#: The request being served (set by the limits middleware).
REQUEST: ContextVar[RequestFacts | None] = ContextVar("audit_request", default=None)


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _last_hash(path: Path) -> str:
    if not path.is_file() or path.stat().st_size == 0:
        return GENESIS
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 65536))
        lines = handle.read().splitlines()
    for line in reversed(lines):
        if line.strip():
            found = json.loads(line).get("hash")
            return str(found) if isinstance(found, str) else GENESIS
    return GENESIS


class ChainedAuditLog:
    """Appends hash-chained lines; one instance per file and process, thread-safe."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._last = _last_hash(path)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def append(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Write one entry (``time``, the fields, ``prev``, ``hash``), fsynced; return it."""
        with self._lock:
            document: dict[str, Any] = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                **fields,
                "prev": self._last,
            }
            document["hash"] = hashlib.sha256(_canonical(document)).hexdigest()
            os.write(self._fd, _canonical(document) + b"\n")
            os.fsync(self._fd)
            self._last = document["hash"]
            return document

    def tail(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` entries, oldest first."""
        with self._lock, self.path.open(encoding="utf-8") as handle:
            lines = deque(handle, maxlen=limit)
        return [json.loads(line) for line in lines if line.strip()]

    def close(self) -> None:
        """Close the file (at shutdown); later appends fail."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def verify_command(path: Path) -> int:
    """``audit verify``: print the outcome; 0 when the chain holds, 1 otherwise."""
    import sys

    if not path.is_file():
        print(f"error: audit log {path} not found", file=sys.stderr)
        return 1
    count, problems = verify_chain(path)
    for problem in problems[:50]:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{path}: {len(problems)} problem(s) in {count} entries: TAMPERED", file=sys.stderr)
        return 1
    print(f"{path}: {count} entries, hash chain intact")
    return 0


def verify_chain(path: Path) -> tuple[int, list[str]]:
    """Check every line's hash and link; return (lines checked, problems naming line numbers)."""
    problems: list[str] = []
    previous = GENESIS
    count = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                problems.append(f"{path}: line {number}: empty line")
                continue
            count += 1
            try:
                document = json.loads(raw)
            except ValueError:
                problems.append(f"{path}: line {number}: not JSON")
                previous = ""
                continue
            claimed = document.pop("hash", None) if isinstance(document, dict) else None
            if not isinstance(claimed, str):
                problems.append(f"{path}: line {number}: no hash")
                previous = ""
                continue
            if document.get("prev") != previous:
                problems.append(f"{path}: line {number}: does not follow line {number - 1}")
            if hashlib.sha256(_canonical(document)).hexdigest() != claimed:
                problems.append(f"{path}: line {number}: content does not match its hash")
            previous = claimed
    return count, problems
