"""A Bundle entry's resource without an id takes the uuid of its ``urn:uuid:`` fullUrl (0560).

A transaction (or batch) Bundle that creates resources gives them no ``id``:
the server assigns one. Each entry is identified by its ``fullUrl``
``urn:uuid:<uuid>`` and the entries reference each other by it. That uuid is
the only identity such an export gives a resource, so both FHIR readers read the
resource as if its id were the uuid (key ``Type/<uuid>``): it is kept, minimised
and re-keyed like any other, its records are built and counted, and nothing
after the read needs to know (decision 0560). The uuid must be one as FHIR
writes it (lower-case hex, hyphenated); any other fullUrl gives no id, and a
record whose own resource has none is refused as before (decision 0541).

The same uuid in several entries is the same resource, as FHIR's fullUrl says
(a Patient or an Organization written into every Bundle of an export): the first
copy is read, as for a repeated id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: ``urn:uuid:`` and a uuid as FHIR's ``uuid`` type writes it.
_UUID_URN = re.compile(r"urn:uuid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def identified_by_full_url(resource: Mapping[str, Any], full_url: str) -> dict[str, Any] | None:
    """``resource`` with the uuid of ``full_url`` as its id, when it has no id; else None.

    No id: no ``id`` element, or null or empty (what the readers treat as none).
    """
    resource_id = resource.get("id")
    if resource_id is not None and resource_id != "":
        return None
    found = _UUID_URN.fullmatch(full_url)
    if found is None:
        return None
    identified: dict[str, Any] = {"resourceType": resource.get("resourceType"), "id": found[1]}
    for key, value in resource.items():
        if key not in ("resourceType", "id"):
            identified[key] = value
    return identified
