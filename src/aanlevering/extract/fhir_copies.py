"""Two copies of one FHIR resource (type and id) with different contents stop the extract.

Why: an export that holds the same resource twice (a Patient in every Bundle of a
collection, a line written twice by a retried bulk job) is fine when the copies are
the same, and the first copy is read (decision 0692 counts the rest). When they
differ (two versions of one Procedure, a Patient with its BSN in one copy and not
in the other), reading the first silently delivers one of two truths, and what the
hospital checks in its EHR may be the other. So copies of a key are compared
whole, in canonical form (members sorted, no spaces: a Bundle's pretty-printed
Patient equals its NDJSON line), and a difference is an input error naming both
places and the resource type; never the id (a Patient's id is the EHR's patient
number) nor a value (decision 0802).

Only inputs that hold copies pay: the readers count them while reading, and only
then is the input read again here, comparing the resources of the repeated keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import msgspec

from aanlevering.errors import ExtractError
from aanlevering.extract.fhir_entry_ids import identified_by_full_url
from aanlevering.extract.fhir_store import input_files, read_segments, whole_files

_SORTED = msgspec.json.Encoder(order="sorted")


def resource_key(resource: Mapping[str, Any], location: str, full_url: str | None) -> str:
    """The key the readers index a resource by (``ResourceStore.add``, ``KeyBuilder.add``)."""
    resource_type = str(resource["resourceType"])
    resource_id = resource.get("id")
    if isinstance(resource_id, str) and resource_id:
        return f"{resource_type}/{resource_id}"
    return full_url or f"{resource_type}@{location}"


class _Unreported:
    """Outcomes of the second read: the first read logged and counted them."""

    def ndjson(self, name: str, read: int, others: list[int], ends_file: bool) -> None:
        """Nothing to report."""

    def bundle(self, name: str, read: bool) -> None:
        """Nothing to report."""


def _digest(resource: Mapping[str, Any]) -> bytes:
    return hashlib.blake2b(_SORTED.encode(resource), digest_size=16).digest()


def refuse_differing_copies(input_path: Path, repeated: Collection[str]) -> None:
    """Raise :class:`ExtractError` when two copies of a key in ``repeated`` differ.

    ``repeated``: the keys the reader saw more than once. The input is read
    again in the readers' order; the first copy of each key is compared with
    every later one.
    """
    if not repeated:
        return
    wanted = set(repeated)
    first: dict[str, tuple[bytes, str]] = {}
    ndjson, bundles = input_files(input_path)
    segments = whole_files(ndjson, bundles)
    for entry, location, full_url in read_segments(segments, _Unreported(), input_path.is_dir()):
        identified = identified_by_full_url(entry, full_url) if full_url else None
        resource = entry if identified is None else identified
        key = resource_key(resource, location, full_url)
        if key not in wanted:
            continue
        digest = _digest(resource)
        seen = first.setdefault(key, (digest, location))
        if seen[0] != digest:
            raise ExtractError(
                f"{seen[1]} and {location}: the same {resource['resourceType']} (same resource "
                "type and id) appears twice with different contents; which copy is right "
                "cannot be told, so nothing is read: export each resource once (identical "
                "copies are allowed and read once)"
            )
