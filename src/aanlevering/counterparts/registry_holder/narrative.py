"""A delivered resource carries no narrative (decision 1063).

Why: a resource's narrative (``text``, a Narrative with its XHTML ``div``)
is free text the source system wrote for people to read: it names the
patient, the doctor, the ward, whatever the record said. The product drops
it from every resource it delivers (:mod:`aanlevering.fhir.minimise`); the
holder's BSN scan finds nine digits in it, never a name, and the R4B models
take it. A holder receipting one would hold free text no pseudonymisation
touched. Neither the text nor anything of it is echoed.
"""

from __future__ import annotations

from typing import Any

NARRATIVE = (
    "a narrative (text) in a delivered resource: a delivery carries none (free text no "
    "pseudonymisation touched; the product drops it)"
)


def narrative_problem(resource: dict[str, Any]) -> str | None:
    """Why ``resource`` or a resource it contains carries a narrative, or None."""
    contained = resource.get("contained")
    inner = (
        [item for item in contained if isinstance(item, dict)]
        if isinstance(contained, list)
        else []
    )
    if any(isinstance(item.get("text"), dict) for item in [resource, *inner]):
        return NARRATIVE
    return None
