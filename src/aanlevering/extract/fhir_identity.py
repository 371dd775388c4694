"""Identity fields of a person from a FHIR Patient, per the Dutch nl-core conventions.

* ``bsn``: the identifier of system ``http://fhir.nl/fhir/NamingSystem/bsn``.
  A US social security number (``http://hl7.org/fhir/sid/us-ssn``), as in
  Synthea output, is *not* a BSN: ``bsn`` stays empty.
* ``mrn``: the identifier of the configured system (``source.fhir.mrn_system``),
  else the one typed ``MR``; without a configured system, after ``MR`` the first
  that is not a national number (BSN, SSN) or another typed document (passport,
  driver's licence), since a guess is better than nothing only when nobody said
  which system holds the hospital's numbers.
* ``patient_id``: ``Patient.id``.
* Names, from the ``official`` HumanName (else ``usual``, else the first):
  ``own_prefix``/``own_name`` from the ``humanname-own-prefix`` /
  ``humanname-own-name`` extensions on ``family`` (the birth name); without
  them the family of a ``maiden`` name, else ``family`` itself.
  ``partner_prefix``/``partner_name`` likewise, without fallback.
  ``initials``: given names qualified ``IN``; ``given_names``: those qualified
  ``BR`` (else the unqualified ones, else the call name ``CL``). Separate initials
  ("B.", "P.") are joined as Dutch exports write them ("B.P.").
* ``birth_date`` and ``sex`` (``gender``) as written.
* Address (``home``, else the first current one): ``postcode`` from
  ``postalCode``; ``house_number`` and ``house_number_addition`` from the
  ``iso21090-ADXP-houseNumber`` / ``-buildingNumberSuffix`` extensions on
  ``line``, else parsed from a line ending in the number ("Kerkstraat 12A"),
  unless the line starts with its number as US addresses do; ``street`` from the
  ``iso21090-ADXP-streetName`` extension, else the part of that line before the
  number (only the output guard reads it, decision 0410).
* ``phone`` and ``email``: every current ``telecom`` of system ``phone`` (or
  ``sms``) / ``email``, joined with ``; `` (only the output guard reads them).

Values are passed through as strings, trimmed; normalisation is the
pseudonymisation stage's job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aanlevering.pseudonym_types import BSN_SYSTEM

SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
NATIONAL_SYSTEMS = frozenset({BSN_SYSTEM, SSN_SYSTEM})
_SD = "http://hl7.org/fhir/StructureDefinition/"
OWN_PREFIX = _SD + "humanname-own-prefix"
OWN_NAME = _SD + "humanname-own-name"
PARTNER_PREFIX = _SD + "humanname-partner-prefix"
PARTNER_NAME = _SD + "humanname-partner-name"
EN_QUALIFIER = _SD + "iso21090-EN-qualifier"
HOUSE_NUMBER = _SD + "iso21090-ADXP-houseNumber"
NUMBER_SUFFIX = _SD + "iso21090-ADXP-buildingNumberSuffix"
STREET_NAME = _SD + "iso21090-ADXP-streetName"
#: v2-0203 identifier types that are documents or national numbers, never an MRN.
_NOT_MRN_TYPES = frozenset({"SS", "SB", "NI", "NN", "DL", "PPN", "TAX", "PRN", "CZ", "BSNR"})
#: "123 Main Street Apt 4": the number leads, so a trailing number is not a house number.
_US_LINE = re.compile(r"^\d+\s")
_DUTCH_LINE = re.compile(
    r"^(?P<street>.*?\S)\s+(?P<number>\d{1,5})\s*[-/]?\s*(?P<addition>[A-Za-z0-9]{1,4})?$"
)

Json = Mapping[str, Any]


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _is_object(value: object) -> bool:
    """``isinstance(value, Mapping)``, answered at once for the dicts decoded JSON holds."""
    return type(value) is dict or isinstance(value, Mapping)


def _extension(element: Json | None, url: str) -> Any:
    for extension in (element or {}).get("extension") or ():
        # _is_object inline: about nine calls per Patient, a million Patients (decision 0500)
        if (type(extension) is dict or isinstance(extension, Mapping)) and extension.get(
            "url"
        ) == url:
            for key, value in extension.items():
                if key.startswith("value"):
                    return value
            return None
    return None


def _type_codes(identifier: Json) -> set[str]:
    codings = (identifier.get("type") or {}).get("coding") or ()
    return {str(c.get("code")) for c in codings if _is_object(c)}


def _current(items: Sequence[Any]) -> list[Json]:
    return [
        item
        for item in items
        if (type(item) is dict or isinstance(item, Mapping))
        and item.get("use") != "old"
        and not (item.get("period") or {}).get("end")
    ]


def _identifiers(patient: Json, mrn_system: str | None) -> dict[str, str | None]:
    identifiers = _current(patient.get("identifier") or ())
    bsn = next((i for i in identifiers if i.get("system") == BSN_SYSTEM), None)
    typed = next((i for i in identifiers if "MR" in _type_codes(i)), None)
    mrn: Json | None
    if mrn_system:
        mrn = next((i for i in identifiers if i.get("system") == mrn_system), None) or typed
    else:
        mrn = typed or next(
            (
                i
                for i in identifiers
                if i.get("system") not in NATIONAL_SYSTEMS and not _type_codes(i) & _NOT_MRN_TYPES
            ),
            None,
        )
    return {
        "bsn": _text(bsn.get("value")) if bsn else None,
        "mrn": _text(mrn.get("value")) if mrn else None,
    }


def _pick(items: Sequence[Json], *uses: str) -> Json | None:
    for use in uses:
        found = next((item for item in items if item.get("use") == use), None)
        if found is not None:
            return found
    return items[0] if items else None


def _names(patient: Json) -> dict[str, str | None]:
    names = _current(patient.get("name") or ())
    name = _pick([n for n in names if n.get("use") != "maiden"], "official", "usual") or _pick(
        names
    )
    if name is None:
        return {}
    family_element = name.get("_family")
    own_name = _text(_extension(family_element, OWN_NAME))
    own_prefix = _text(_extension(family_element, OWN_PREFIX))
    if own_name is None:
        maiden = next((n for n in names if n.get("use") == "maiden"), None)
        own_name = _text((maiden or name).get("family"))
    given = [_text(g) for g in name.get("given") or ()]
    given_elements = list(name.get("_given") or ())
    qualified: dict[str, list[str]] = {"IN": [], "BR": [], "CL": [], "": []}
    for index, value in enumerate(given):
        if value is None:
            continue
        element = given_elements[index] if index < len(given_elements) else None
        qualifier = _extension(element, EN_QUALIFIER) if _is_object(element) else None
        qualified.setdefault(str(qualifier or ""), []).append(value)
    given_names = qualified["BR"] or qualified[""] or qualified["CL"]
    return {
        "own_prefix": own_prefix,
        "own_name": own_name,
        "partner_prefix": _text(_extension(family_element, PARTNER_PREFIX)),
        "partner_name": _text(_extension(family_element, PARTNER_NAME)),
        "initials": "".join(qualified["IN"]) or None,
        "given_names": " ".join(given_names) or None,
    }


def _address(patient: Json) -> dict[str, str | None]:
    address = _pick(_current(patient.get("address") or ()), "home")
    if address is None:
        return {}
    lines = address.get("line") or ()
    line_elements = address.get("_line") or ()
    line = _text(lines[0]) if lines else None
    element = line_elements[0] if line_elements and _is_object(line_elements[0]) else None
    number = _text(_extension(element, HOUSE_NUMBER))
    addition = _text(_extension(element, NUMBER_SUFFIX))
    street = _text(_extension(element, STREET_NAME))
    # Both from the line's extensions (nl-core exports write them): parsing the line
    # would change nothing (decision 0500).
    parsed = number is None or street is None
    if parsed and line and not _US_LINE.match(line) and (match := _DUTCH_LINE.match(line)):
        if number is None:
            number = match.group("number")
            addition = addition or _text(match.group("addition"))
        street = street or _text(match.group("street"))
    return {
        "postcode": _text(address.get("postalCode")),
        "house_number": number,
        "house_number_addition": addition,
        "street": street,
    }


def _telecom(patient: Json) -> dict[str, str | None]:
    """Current phone numbers and e-mail addresses, each kind joined with ``; ``."""
    found: dict[str, list[str]] = {"phone": [], "email": []}
    for contact in _current(patient.get("telecom") or ()):
        system = contact.get("system")
        field = "phone" if system in ("phone", "sms") else "email" if system == "email" else None
        value = _text(contact.get("value"))
        if field is not None and value is not None and value not in found[field]:
            found[field].append(value)
    return {field: "; ".join(values) or None for field, values in found.items()}


def patient_identity(patient: Json, mrn_system: str | None = None) -> dict[str, str | None]:
    """Every identity field of the person this Patient resource describes (missing: None)."""
    identity: dict[str, str | None] = {
        "patient_id": _text(patient.get("id")),
        "birth_date": _text(patient.get("birthDate")),
        "sex": _text(patient.get("gender")),
    }
    identity.update(_identifiers(patient, mrn_system))
    identity.update(_names(patient))
    identity.update(_address(patient))
    identity.update(_telecom(patient))
    return identity
