"""What a delivered Patient may hold: the pseudonymised Patient's elements, generalised.

Why: the product writes a Patient of its pseudonym identifiers, gender, the
birth year and the 4 digits of the postal code, and nothing else
(:mod:`aanlevering.fhir.patient`). The holder refused a name, telecom or an
address beyond PC4 (decision 0432), but took every other element: a full
birth date, a contact (a relative's name, phone and address), a photo, a
narrative ``text`` naming the patient, an extension holding anything. Each
identifies a patient as well as a name does (decision 1062). Problems name the
element when it is one of the R4B Patient's, never a value.
"""

from __future__ import annotations

import re
from typing import Any

#: The elements of the Patient the product delivers (fhir/patient.py).
DELIVERED = ("resourceType", "id", "meta", "identifier", "gender", "birthDate", "address")

#: The R4B Patient's elements: named in a refusal; any other key is said as "an element".
_R4B_PATIENT = frozenset(
    {
        "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
        "active", "name", "telecom", "deceasedBoolean", "deceasedDateTime", "maritalStatus",
        "multipleBirthBoolean", "multipleBirthInteger", "photo", "contact", "communication",
        "generalPractitioner", "managingOrganization", "link",
    }
)  # fmt: skip

_YEAR = re.compile(r"[0-9]{4}")


def patient_problem(resource: dict[str, Any]) -> str | None:
    """Why a Patient holds more than the pseudonymised Patient, or None (not a Patient too)."""
    if resource.get("resourceType") != "Patient":
        return None
    if resource.get("name") or resource.get("telecom"):
        return "Patient carries name or telecom: must be removed before delivery"
    if not all(_is_pc4_only(address) for address in resource.get("address") or ()):
        return (
            "Patient carries an address beyond a 4-digit postal code: "
            "must be generalised before delivery"
        )
    other = [key for key in resource if key not in DELIVERED]
    if other:
        named = sorted({key for key in other if key in _R4B_PATIENT})
        unnamed = len(other) - len(named)
        said = ", ".join([*named, *([f"{unnamed} other element(s)"] if unnamed else [])])
        return (
            f"Patient carries {said}: a delivered Patient holds {', '.join(DELIVERED[1:])} "
            "only (the pseudonymised Patient)"
        )
    birth = resource.get("birthDate")
    if birth is not None and not (isinstance(birth, str) and _YEAR.fullmatch(birth)):
        return "Patient carries a birthDate beyond its year: must be generalised before delivery"
    return None


def _is_pc4_only(address: object) -> bool:
    """An address that is only the 4 digits of a Dutch postal code (the generalised form)."""
    if not isinstance(address, dict) or set(address) - {"postalCode", "use"}:
        return False
    code = address.get("postalCode")
    return isinstance(code, str) and len(code) == 4 and code.isdigit()
