"""The delivered Patient: pseudonym identifiers and nothing that identifies.

The Patient is built from an allowlist, never by deleting from a source
Patient: names, BSN and MRN identifiers, telecom, address, photo, contact,
the full birth date, narrative and identifying extensions cannot leak because
nothing is copied. It carries one identifier per pseudonym (type coding from
the published CodeSystem, system per registration and type, key version,
normalisation profile and status as extensions, ``use`` ``temp`` for
temporary pseudonyms), the PSEUDED security label, and only the generalised
forms the dictionary asks for (birth year, PC4, gender).

Building is a hot path (one Patient per delivered person, up to millions), so
it writes JSON text from cached constant parts and checks its inputs with
regular expressions instead of running a FHIR model per Patient; the writers
validate a sample with the R4B models (see :mod:`aanlevering.fhir.validate`).
"""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import Any

from aanlevering.fhir.approved import ApprovedPseudonyms
from aanlevering.fhir.context import DeliveryContext
from aanlevering.fhir.conventions import (
    DEFINITIVE,
    KEY_VERSION_EXTENSION,
    PROFILE_EXTENSION,
    PSEUDED_CODE,
    PSEUDED_SYSTEM,
    PSEUDONYM_TYPE_SYSTEM,
    STATUS_EXTENSION,
    TEMPORARY,
    delivered_json,
    pseudonym_system,
)
from aanlevering.fhir.generalised import NO_FORMS, GeneralisedForms
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym_types import PseudonymType

PATIENT_KIND = "Patient"

#: The security label every delivered resource carries (shared, never mutated).
SECURITY_META: dict[str, Any] = {"security": [{"system": PSEUDED_SYSTEM, "code": PSEUDED_CODE}]}


def patient_id(pseudonyms: PatientPseudonyms, context: DeliveryContext) -> str:
    """The delivered Patient.id: a keyed hash of the source patient, never the MRN itself."""
    return context.ids.make(PATIENT_KIND, pseudonyms.patient_id)


class PatientBuilder:
    """Builds delivered Patients for one delivery as JSON text.

    The parts every Patient shares (meta, identifier type, system and
    extensions per key version and status) are encoded once; a Patient is
    then a join of cached text and a few escaped values.
    """

    def __init__(self, context: DeliveryContext) -> None:
        self.context = context
        self._prefixes: dict[tuple[PseudonymType, int, str, bool], str] = {}
        self.approved = ApprovedPseudonyms(context)
        self.head = '{"resourceType":"Patient","id":'
        self.meta = ',"meta":' + delivered_json(SECURITY_META)

    def prefix(self, pseudonym: Pseudonym) -> str:
        """JSON text of an Identifier of this label up to its value (cached per label)."""
        label = (pseudonym.type, pseudonym.key_version, pseudonym.profile, pseudonym.temporary)
        prefix = self._prefixes.get(label)
        if prefix is None:
            status = TEMPORARY if pseudonym.temporary else DEFINITIVE
            identifier: dict[str, Any] = {
                "extension": [
                    {"url": KEY_VERSION_EXTENSION, "valueInteger": pseudonym.key_version},
                    {"url": PROFILE_EXTENSION, "valueString": pseudonym.profile},
                    {"url": STATUS_EXTENSION, "valueCode": status},
                ]
            }
            if pseudonym.temporary:
                identifier["use"] = "temp"
            identifier["type"] = {
                "coding": [{"system": PSEUDONYM_TYPE_SYSTEM, "code": pseudonym.type.value}]
            }
            identifier["system"] = pseudonym_system(self.context.registration_id, pseudonym.type)
            prefix = delivered_json(identifier)[:-1] + ',"value":'
            self._prefixes[label] = prefix
        return prefix

    def identifier_text(self, pseudonym: Pseudonym) -> str:
        """JSON text of the FHIR Identifier of one (checked, approved) pseudonym."""
        return f"{self.prefix(pseudonym)}{encode_basestring(pseudonym.value)}}}"

    def text(
        self,
        pseudonyms: PatientPseudonyms,
        forms: GeneralisedForms = NO_FORMS,
        delivered_id: str | None = None,
    ) -> str:
        """JSON text of the delivered Patient of one person.

        ``delivered_id``: the Patient id when the caller already computed it
        (:func:`patient_id`). Raises :class:`PseudonymisationError` for a
        pseudonym type the registration is not approved for, two pseudonyms
        of one type, or a pseudonym that is not a valid identifier value.
        """
        resource_id = delivered_id or patient_id(pseudonyms, self.context)
        parts = [self.head, encode_basestring(resource_id), self.meta]
        approved = self.approved.of(pseudonyms)
        if approved:
            identifiers = ",".join(self.identifier_text(pseudonym) for pseudonym in approved)
            parts.append(f',"identifier":[{identifiers}]')
        if forms.gender is not None:
            parts.append(f',"gender":{encode_basestring(forms.gender)}')
        if forms.birth_year is not None:
            parts.append(f',"birthDate":{encode_basestring(forms.birth_year)}')
        if forms.pc4 is not None:
            parts.append(f',"address":[{{"postalCode":{encode_basestring(forms.pc4)}}}]')
        parts.append("}")
        return "".join(parts)

    def labels(self) -> tuple[dict[str, tuple[int, ...]], tuple[str, ...]]:
        """Key versions per type and profiles of the Patients built so far."""
        return self.approved.labels()
