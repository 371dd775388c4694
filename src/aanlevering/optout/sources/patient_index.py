"""Resolve a Consent's ``patient`` against an export's Patients to the hospital patient number.

A FHIR ``Consent`` names its patient the way the EHR's FHIR server does:
``Patient/<id>`` (the server's id, often not the MRN) or an identifier. Opt-outs
must be keyed by the hospital patient number like every other patient key
(:mod:`aanlevering.extract.patient_key`), so with the export at hand the
reference is looked up among its Patients: by id (also ``urn:uuid:<id>`` and
absolute URLs ending in ``Patient/<id>``) and by any identifier but the BSN.
The index holds patient numbers in memory only, for one ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aanlevering.extract.fhir_identity import patient_identity
from aanlevering.extract.fhir_store import SHAPE_ERRORS, ResourceStore, load_store, malformed
from aanlevering.pseudonym_types import BSN_SYSTEM

log = logging.getLogger(__name__)


@dataclass
class PatientIndex:
    """Patient number by ``Patient.id`` and by ``(system, value)`` of the Patients' identifiers."""

    by_id: dict[str, str] = field(default_factory=dict)
    by_identifier: dict[tuple[str, str], str] = field(default_factory=dict)

    def number_of(self, patient: Mapping[str, Any]) -> str | None:
        """The patient number a Consent's ``patient`` reference points at, if in the export."""
        reference = patient.get("reference")
        if isinstance(reference, str) and reference.strip():
            text = reference.strip().split("/_history", 1)[0].rstrip("/")
            if text.startswith(("urn:uuid:", "urn:oid:")):
                found = self.by_id.get(text.rsplit(":", 1)[1])
            else:
                parts = text.split("/")
                found = (
                    self.by_id.get(parts[-1])
                    if len(parts) >= 2 and parts[-2] == "Patient"
                    else None
                )
            if found is not None:
                return found
        identifier = patient.get("identifier")
        if isinstance(identifier, Mapping):
            system, value = identifier.get("system"), identifier.get("value")
            if isinstance(value, str) and system != BSN_SYSTEM:
                return self.by_identifier.get((str(system or ""), value.strip()))
        return None


def index_of_store(store: ResourceStore, mrn_system: str | None = None) -> PatientIndex:
    """The index of a loaded export: MRNs when the export has them, else ``Patient.id``.

    The same rule as the pipeline's (``patient_key``): when some Patients have
    an MRN, a Patient without one is not indexed, so a Consent on it fails
    loudly instead of being keyed by another number.
    """
    identities = []
    for located in store.of_type("Patient"):
        try:
            identities.append((located.resource, patient_identity(located.resource, mrn_system)))
        except SHAPE_ERRORS as error:  # named by location, never by value (decision 0684)
            raise malformed(located.location, located.resource, error) from None
    use_mrn = any(identity.get("mrn") for _, identity in identities)
    if not use_mrn and identities:
        log.warning("no Patient of the export has an MRN identifier; Patient.id is the number")
    index = PatientIndex()
    for resource, identity in identities:
        number = identity.get("mrn") if use_mrn else identity.get("patient_id")
        if not number:
            continue
        if identity.get("patient_id"):
            index.by_id.setdefault(str(identity["patient_id"]), number)
        identifiers = resource.get("identifier")
        for item in identifiers if isinstance(identifiers, list) else ():
            if not isinstance(item, Mapping) or item.get("system") == BSN_SYSTEM:
                continue
            value = item.get("value")
            if isinstance(value, str) and value.strip():
                index.by_identifier.setdefault(
                    (str(item.get("system") or ""), value.strip()), number
                )
    return index


def index_projection(resource: dict[str, Any]) -> dict[str, Any]:
    """What the index reads of a Patient (id and identifiers); other resources stay whole.

    Why: the index is built from every Patient of a hospital export; names,
    addresses and contact details would only fill memory (and hold identity
    data longer than needed).
    """
    if resource.get("resourceType") != "Patient":
        return resource
    return {key: resource[key] for key in ("resourceType", "id", "identifier") if key in resource}


def load_patient_index(export: Path, mrn_system: str | None = None) -> PatientIndex:
    """The index of the Patients in a FHIR export (bulk NDJSON folder, Bundle or NDJSON file)."""
    store = load_store(Path(export), project=index_projection, keep_types=frozenset({"Patient"}))
    return index_of_store(store, mrn_system)
