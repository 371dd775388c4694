"""Where a delivered resource may hold a person: as the pseudonymised Patient, nowhere else.

Why: the holder checks names, telecom and addresses on the Patients it reads
as a file's lines or a Bundle's entries. A person elsewhere escaped that
check: a RelatedPerson of its own, a Patient contained in an Observation, a
Patient in a Bundle that is itself an entry or an NDJSON line. The product
delivers none of them: its minimiser refuses person resources and drops
contained people (:mod:`aanlevering.fhir.minimise`), its Bundles hold
resources, never Bundles (:mod:`aanlevering.output.bundle`). A holder that
receipted one, without the registration's terms to refuse its type, would
hold a person's name as delivered. Each is refused, the type written never
echoed (decision 1004).
"""

from __future__ import annotations

from typing import Any

from aanlevering.extract.fhir_resources import PERSON_TYPES

#: People are delivered this way only: the patient, pseudonymised.
_ONLY = "(people are delivered as the pseudonymised Patient only)"

BUNDLE_INSIDE = (
    "a Bundle inside a delivered file (a delivery's resources are its NDJSON lines and "
    "its Bundles' entries, never Bundles)"
)


def person_problem(resource: dict[str, Any]) -> str | None:
    """Why ``resource`` holds a person, or resources, where no delivery does (None: it does not)."""
    resource_type = resource.get("resourceType")
    if resource_type == "Bundle":
        return BUNDLE_INSIDE
    if resource_type in PERSON_TYPES and resource_type != "Patient":
        return f"a resource about a person other than the Patient {_ONLY}"
    contained = resource.get("contained")
    for item in contained if isinstance(contained, list) else ():
        inner = item.get("resourceType") if isinstance(item, dict) else None
        if inner == "Bundle":
            return BUNDLE_INSIDE
        if inner in PERSON_TYPES:
            return f"a contained resource about a person {_ONLY}"
    return None
