"""Append-only audit log of who asked the TTP what, from where.

One JSON object per line (hash-chained and fsynced, see
:mod:`aanlevering.counterparts.common.audit`): time, organisation, role,
peer address, credential kind, endpoint, registration, request id, counts,
key versions, outcome and HTTP status. Entries are built from a fixed set of
fields that hold no digests, ciphertexts, pseudonyms or record references,
and each value is checked before it is written (pseudonym type names against
the known types, registrations and request ids against their patterns,
endpoints against the routes), so nothing a caller invents reaches the log.
It can be handed to a supervisor as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aanlevering.counterparts.common.audit import REQUEST, ChainedAuditLog
from aanlevering.pseudonym_types import PseudonymType


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


_REGISTRATION = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,199}$")
_TYPES = frozenset(t.value for t in PseudonymType)
#: Routes of the TTP; any other path is logged as ``(other)``, never as sent.
ENDPOINTS = frozenset(
    {
        "/pseudonyms/temporary",
        "/pseudonyms/temporary/columns",
        "/pseudonyms/exchange",
        "/mrn/reverse",
        "/local/deliveries",
        "/audit",
        "/admin/faults",
    }
)


def _checked(value: str | None, pattern: re.Pattern[str]) -> str | None:
    if value is None:
        return None
    return value if pattern.fullmatch(value) else "(invalid)"


def _fields(entry: AuditEntry) -> dict[str, Any]:
    """The entry as logged: only values that passed a check, never what a caller made up."""
    fields = {k: v for k, v in asdict(entry).items() if v not in (None, {}, ())}
    fields["endpoint"] = entry.endpoint if entry.endpoint in ENDPOINTS else "(other)"
    for name, pattern in (("registration", _REGISTRATION), ("request_id", _REQUEST_ID)):
        if name in fields:
            fields[name] = _checked(fields[name], pattern)
    if entry.types:
        types = {k: v for k, v in entry.types.items() if k in _TYPES}
        invalid = sum(v for k, v in entry.types.items() if k not in _TYPES)
        fields["types"] = dict(sorted(types.items()))
        if invalid:
            fields["invalid_types"] = invalid
    if "key_versions" in fields:
        fields["key_versions"] = list(entry.key_versions)
    request = REQUEST.get()
    if request is not None:
        fields["peer"] = request.peer
        fields["credential"] = request.credential
    return fields


class AuditLog:
    """The TTP's audit trail: validated fields in a hash-chained, fsynced JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._log = ChainedAuditLog(path)

    def record(self, entry: AuditEntry) -> None:
        """Append one entry, fsynced before the response goes out."""
        self._log.append(_fields(entry))

    def tail(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` entries, oldest first (for GET /audit)."""
        return self._log.tail(limit)

    def close(self) -> None:
        """Close the file (at shutdown)."""
        self._log.close()
