"""FHIR output files: Bulk Data export folders (NDJSON + manifest) and Bundles.

A registration's bulk folder looks like what a FHIR server's ``$export``
leaves after download: one ``<Type>.ndjson`` per resource type and a
``manifest.json`` (transactionTime, request, requiresAccessToken, output,
error). Resources reference each other as ``Type/id``. The Bundles folder
holds one Bundle per 100 patients, cycling through the three shapes an
extract meets: ``collection`` and ``searchset`` with absolute fullUrls and
relative references, and ``transaction`` with ``urn:uuid:`` fullUrls and
references (PUT entries).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

from pydantic_core import to_json

from aanlevering.demo.fhirpaths import Json

BULK_DIR = "fhir-bulk"
BUNDLE_DIR = "fhir-bundles"
#: Fixed so output does not depend on the clock (determinism).
EXPORT_TIME = "2027-08-02T03:00:00+02:00"
FHIR_BASE = "https://ehr.demo-hospital.example/fhir"
BUNDLE_TYPES = ("collection", "transaction", "searchset")
PATIENTS_PER_BUNDLE = 100
_NAMESPACE = uuid.UUID("6f1c1a0e-5d1b-4d8e-9a59-0a0b1c2d3e4f")
_REFERENCE = re.compile(r'"reference":"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})"')


_NAMESPACE_BYTES = _NAMESPACE.bytes


def resource_uuid(resource_type: str, resource_id: str) -> str:
    """Stable urn:uuid of a resource in transaction Bundles (a UUID version 5).

    Same result as ``uuid.uuid5(namespace, "Type/id")``, without building
    UUID objects (this runs for every resource of every transaction Bundle).
    """
    name = f"{resource_type}/{resource_id}".encode()
    h = hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).hexdigest()
    variant = "89ab"[int(h[16], 16) & 0x3]
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def dumps(resource: Json) -> bytes:
    """Compact JSON (UTF-8, key order kept: deterministic)."""
    return to_json(resource)


class Serialised(NamedTuple):
    """A resource's type, id, JSON, and whether it is a record's focus resource.

    A NamedTuple rather than a frozen dataclass: one is made per resource.
    """

    type: str
    id: str
    json: bytes
    focus: bool


def ndjson_lines(items: Sequence[Serialised]) -> dict[str, tuple[bytes, int]]:
    """Per resource type (sorted): its resources as NDJSON lines, and how many."""
    lines: dict[str, list[bytes]] = {}
    for item in items:
        lines.setdefault(item.type, []).append(item.json)
    return {t: (b"\n".join(lines[t]) + b"\n", len(lines[t])) for t in sorted(lines)}


class BulkWriter:
    """Appends resources to ``<Type>.ndjson`` files and writes the export manifest."""

    def __init__(self, folder: Path, request: str) -> None:
        self.folder = folder
        self.request = request
        folder.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, BinaryIO] = {}
        self.counts: dict[str, int] = {}

    def write(self, items: Sequence[Serialised]) -> None:
        """Append one line per resource."""
        for resource_type, (data, count) in ndjson_lines(items).items():
            self.append(resource_type, data, count)

    def append(self, resource_type: str, data: bytes, count: int) -> None:
        """Append ``count`` NDJSON lines already joined (each ending in a newline).

        For lines serialised in a worker process: appending a chunk's bytes per
        type gives the same file as appending its groups one by one.
        """
        handle = self._files.get(resource_type)
        if handle is None:
            handle = (self.folder / f"{resource_type}.ndjson").open("wb")
            self._files[resource_type] = handle
        handle.write(data)
        self.counts[resource_type] = self.counts.get(resource_type, 0) + count

    def close(self) -> None:
        """Close the NDJSON files and write ``manifest.json``."""
        for handle in self._files.values():
            handle.close()
        manifest = {
            "transactionTime": EXPORT_TIME,
            "request": f"{self.request}?_type={','.join(sorted(self.counts))}",
            "requiresAccessToken": False,
            "output": [
                {"type": t, "url": f"{t}.ndjson", "count": self.counts[t]}
                for t in sorted(self.counts)
            ],
            "error": [],
        }
        (self.folder / "manifest.json").write_bytes(to_json(manifest, indent=2) + b"\n")


class BundleWriter:
    """Writes one Bundle file per group of patients, cycling the Bundle types."""

    def __init__(self, folder: Path, registration: str, search_type: str) -> None:
        self.folder = folder
        self.registration = registration
        self.search_type = search_type
        folder.mkdir(parents=True, exist_ok=True)
        self.written = 0

    def write(self, items: Sequence[Serialised]) -> Path:
        """One Bundle of ``items`` (the resources of a group of patients)."""
        path = write_bundle(self.folder, self.registration, self.search_type, self.written, items)
        self.written += 1
        return path

    def skip(self, count: int) -> None:
        """Count ``count`` Bundles another process wrote (with :func:`write_bundle`)."""
        self.written += count


def write_bundle(
    folder: Path, registration: str, search_type: str, index: int, items: Sequence[Serialised]
) -> Path:
    """Write Bundle number ``index`` (from 0) of a registration; its file name and type
    follow from the index alone, so any process may write any Bundle."""
    bundle_type = BUNDLE_TYPES[index % len(BUNDLE_TYPES)]
    bundle_id = str(uuid.uuid5(_NAMESPACE, f"{registration}/bundle/{index}"))
    head: Json = {
        "resourceType": "Bundle",
        "id": bundle_id,
        "meta": {"lastUpdated": EXPORT_TIME},
        "type": bundle_type,
        "timestamp": EXPORT_TIME,
    }
    if bundle_type == "searchset":
        head["total"] = sum(1 for item in items if item.focus)
        head["link"] = [
            {
                "relation": "self",
                "url": f"{FHIR_BASE}/{search_type}?_include=*&_revinclude=*&_page={index}",
            }
        ]
    entries: list[bytes] = []
    for item in items:
        if bundle_type == "transaction":
            body = _REFERENCE.sub(_to_urn, item.json.decode("utf-8")).encode("utf-8")
            entries.append(
                b'{"fullUrl":"urn:uuid:'
                + resource_uuid(item.type, item.id).encode()
                + b'","resource":'
                + body
                + b',"request":{"method":"PUT","url":"'
                + f"{item.type}/{item.id}".encode()
                + b'"}}'
            )
        else:
            entry = (
                b'{"fullUrl":"'
                + f"{FHIR_BASE}/{item.type}/{item.id}".encode()
                + b'","resource":'
                + item.json
            )
            if bundle_type == "searchset":
                mode = b"match" if item.focus else b"include"
                entry += b',"search":{"mode":"' + mode + b'"}'
            entries.append(entry + b"}")
    text = dumps(head)[:-1] + b',"entry":[' + b",".join(entries) + b"]}\n"
    path = folder / f"{registration}-{index + 1:05d}-{bundle_type}.json"
    path.write_bytes(text)
    return path


def _to_urn(match: re.Match[str]) -> str:
    return f'"reference":"urn:uuid:{resource_uuid(match.group(1), match.group(2))}"'
