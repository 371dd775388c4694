"""Canonical URLs the project publishes for its FHIR output, in one place.

Registry holders read pseudonyms, their type, status and key version from
these systems and extensions, so the strings are a public contract: they are
documented in docs/fhir-output.md and published as conformance resources in
``schemas/fhir/`` (generated from this module by ``aanlevering.fhir.publish``).
Change them only with a new version of that contract.
"""

from __future__ import annotations

import json

from aanlevering.pseudonym_types import PseudonymType

#: ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` builds this encoder
#: per call; millions of delivered resources use one.
_DELIVERED_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def delivered_json(value: object) -> str:
    """A resource as every FHIR file of a delivery writes it: compact JSON, UTF-8, no spaces.

    One spelling for the Patient, record and source-resource writers, so their
    lines (and the bytes pinned on rerun) cannot drift apart.
    """
    return _DELIVERED_JSON(value)


BASE = "https://aanlevering.example/fhir"

#: CodeSystem of the pseudonym types (codes = ``PseudonymType`` values).
PSEUDONYM_TYPE_SYSTEM = f"{BASE}/CodeSystem/pseudonym-type"
#: CodeSystem of the pseudonym status: ``temporary`` or ``definitive``.
PSEUDONYM_STATUS_SYSTEM = f"{BASE}/CodeSystem/pseudonym-status"
#: Identifier extension: version of the registration key (valueInteger).
KEY_VERSION_EXTENSION = f"{BASE}/StructureDefinition/pseudonym-key-version"
#: Identifier extension: normalisation profile of the pseudonym's input (valueString).
PROFILE_EXTENSION = f"{BASE}/StructureDefinition/pseudonym-normalisation-profile"
#: Identifier extension: temporary or definitive (valueCode from PSEUDONYM_STATUS_SYSTEM).
STATUS_EXTENSION = f"{BASE}/StructureDefinition/pseudonym-status"

#: meta.security label of every delivered resource.
PSEUDED_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
PSEUDED_CODE = "PSEUDED"

TEMPORARY = "temporary"
DEFINITIVE = "definitive"

#: What each pseudonym type is made of (CodeSystem definitions).
TYPE_DEFINITIONS: dict[PseudonymType, tuple[str, str]] = {
    PseudonymType.B: ("BSN", "Pseudonym of the citizen service number (BSN)."),
    PseudonymType.NGGV: (
        "birth name, birth date, sex, first initial",
        "Birth name (8 letters), birth date, sex and first initial.",
    ),
    PseudonymType.SNGGV: (
        "short birth name, birth date, sex, first initial",
        "Birth name (4 letters), birth date, sex and first initial.",
    ),
    PseudonymType.NGG: (
        "birth name, birth date, sex",
        "Birth name (8 letters), birth date and sex.",
    ),
    PseudonymType.SNGG: (
        "short birth name, birth date, sex",
        "Birth name (4 letters), birth date and sex.",
    ),
    PseudonymType.C: (
        "postcode, birth date, sex",
        "Postcode (6 positions), birth date and sex.",
    ),
    PseudonymType.RGG: (
        "PC4, birth date, sex",
        "Postcode (4 digits), birth date and sex.",
    ),
    PseudonymType.GG: ("birth date, sex", "Birth date and sex."),
    PseudonymType.A: (
        "address",
        "Postcode, house number and house number addition.",
    ),
    PseudonymType.MRN: (
        "local patient number",
        "Local patient number of the providing hospital; reversible only by that hospital.",
    ),
}


def pseudonym_system(registration_id: str, type_: PseudonymType | str) -> str:
    """Identifier.system of one pseudonym type (or its code) of one registration.

    Keys are per registration, so equal values of different registrations are
    different identifiers: the registration is part of the namespace.
    """
    code = type_.value if isinstance(type_, PseudonymType) else type_
    return f"{BASE}/NamingSystem/pseudonym/{registration_id}/{code}"


def questionnaire_url(dictionary_id: str, dataset: str) -> str:
    """Canonical URL (without version) of the Questionnaire of one dataset.

    One Questionnaire per dataset because variable names (the linkIds) are
    unique within a dataset but not across datasets (``operatie_id``).
    """
    return f"{BASE}/Questionnaire/{dictionary_id}-{dataset}"


def option_set_system(dictionary_id: str, option_set: str) -> str:
    """Coding.system of the codes of one option set of a dictionary."""
    return f"{BASE}/CodeSystem/{dictionary_id}-{option_set}"
