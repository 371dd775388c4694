"""Whether a FHIR delivery is closed: every reference in it resolves to a resource in it.

A registry holder loads a delivery on its own; a reference to something that
was not delivered is either a leak of a source id or a dangling pointer
(decision 0232). Addresses are ``Type/id`` (NDJSON) and, in Bundles, the
entries' ``fullUrl`` as well; local references (``#id``) and canonical URLs
(``Reference`` only, so ``questionnaire`` is not one) are not checked here.
The tracker keeps the delivered addresses and the first place each distinct
reference was seen, so it holds one entry per resource, not per reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aanlevering.counterparts.registry_holder.unreadable import Unread

#: Unresolved references listed in a refusal.
MAX_LISTED = 20


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


class Closure:
    """Collects delivered addresses and references over every file of one delivery."""

    def __init__(self) -> None:
        self._delivered: set[str] = set()
        self._referenced: dict[str, str] = {}  # reference -> where it was first seen

    def __repr__(self) -> str:
        return f"Closure({len(self._delivered)} delivered, {len(self._referenced)} referenced)"

    def add(self, resource: dict[str, Any], where: str, full_url: str | None = None) -> bool:
        """Record one delivered resource and the references it makes; whether an earlier
        resource of the delivery had its address (``Type/id`` or ``fullUrl``, decision 1035).
        """
        resource_type, resource_id = resource.get("resourceType"), resource.get("id")
        addresses = {full_url} if full_url else set()
        if isinstance(resource_type, str) and isinstance(resource_id, str):
            addresses.add(f"{resource_type}/{resource_id}")
        again = not addresses.isdisjoint(self._delivered)
        self._delivered.update(addresses)
        for reference in _references(resource):
            if not reference.startswith("#"):
                self._referenced.setdefault(reference, where)
        return again

    def problems(self, unread: Unread | None = None) -> list[str]:
        """One line per reference that resolves to nothing in the delivery (types only).

        ``unread``: what files not read whole leave unknown; a reference to a
        type whose file was not read may resolve to what was not read, and is
        not listed (decision 0985).
        """
        unread = unread or Unread()
        if unread.anything:
            return []
        missing = sorted(
            (where, ref)
            for ref, where in self._referenced.items()
            if ref not in self._delivered and _kind(ref) not in unread.types
        )
        listed = [
            f"{where}: reference to a {_kind(ref)} that is not in the delivery"
            for where, ref in missing[:MAX_LISTED]
        ]
        if len(missing) > MAX_LISTED:
            listed.append(
                f"{len(missing) - MAX_LISTED} more reference(s) to what is not in the delivery "
                "not listed"
            )
        return listed


def _kind(reference: str) -> str:
    """The referenced type (never the id: it may be a source id)."""
    if reference.startswith("urn:"):
        return "urn:uuid entry"
    parts = reference.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else "resource"
