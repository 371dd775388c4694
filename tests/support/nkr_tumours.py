"""Which resources of an NKR demo export are the tumour records of a period.

Why: the FHIR e2e and extract tests count what a run must deliver from the
export itself; one predicate keeps them counting the same records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The category system and code that make a Condition an NKR tumour (the catalogue's filter).
CONDITION_SYSTEM = "https://aanlevering.example/fhir/CodeSystem/conditie-categorie"


def is_tumour(resource: Mapping[str, Any], period: str) -> bool:
    """A tumour Condition whose onset lies in ``period`` (a year or month prefix)."""
    return (
        resource.get("resourceType") == "Condition"
        and str(resource.get("onsetDateTime", "")).startswith(period)
        and any(
            coding.get("system") == CONDITION_SYSTEM and coding.get("code") == "tumor"
            for category in resource.get("category", ())
            for coding in category.get("coding", ())
        )
    )
