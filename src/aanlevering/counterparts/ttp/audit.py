"""Append-only audit log of who asked the TTP what.

One JSON object per line in a file opened in append mode: time, organisation,
role, endpoint, registration, request id, counts, key versions, outcome and
HTTP status. Entries are built from a fixed set of fields that hold no
digests, ciphertexts, pseudonyms or record references, so the log can be
handed to a supervisor as it is.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    """One request as the audit log records it (no identifiers by construction)."""

    organisation: str
    role: str
    endpoint: str
    outcome: str
    status: int
    registration: str | None = None
    request_id: str | None = None
    batch_id: str | None = None
    records: int | None = None
    types: Mapping[str, int] = field(default_factory=dict)
    key_versions: tuple[int, ...] = ()
    detail: str | None = None


class AuditLog:
    """Appends entries to a JSON-lines file; safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def record(self, entry: AuditEntry) -> None:
        """Append one entry and flush it to the OS before the response goes out."""
        document: dict[str, Any] = {"time": datetime.now(UTC).isoformat(timespec="milliseconds")}
        document.update((k, v) for k, v in asdict(entry).items() if v not in (None, {}, ()))
        line = json.dumps(document, separators=(",", ":"), sort_keys=False) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def tail(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` entries, oldest first (for GET /audit)."""
        with self._lock, self.path.open(encoding="utf-8") as handle:
            lines = deque(handle, maxlen=limit)
        return [json.loads(line) for line in lines]

    def close(self) -> None:
        """Close the file (at shutdown)."""
        with self._lock:
            self._file.close()
