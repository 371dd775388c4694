"""What the FHIR and CSV builders need to know about the delivery being made."""

from __future__ import annotations

from dataclasses import dataclass, field

from aanlevering.catalogue.model import DataDictionary, RegistrationConfig
from aanlevering.errors import PseudonymisationError
from aanlevering.fhir.ids import RecordKeys, ResourceIds
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym_types import PseudonymType


@dataclass(frozen=True)
class DeliveryContext:
    """One registration's delivery: its dictionary, approved types, id salt and record keys.

    ``pseudonym_types``: the types the registration is approved to receive, in
    the order they are delivered. ``timezone``: how naive source date-times are
    read (EHR exports are in Dutch local time); FHIR needs an offset.
    """

    registration_id: str
    dictionary: DataDictionary
    pseudonym_types: tuple[PseudonymType, ...]
    ids: ResourceIds = field(repr=False)
    timezone: str = "Europe/Amsterdam"
    record_keys: RecordKeys | None = field(default=None, repr=False)

    @classmethod
    def for_registration(
        cls, config: RegistrationConfig, salt: bytes, record_keys: RecordKeys | None = None
    ) -> DeliveryContext:
        """Context of ``config``; ``salt`` comes from :func:`aanlevering.fhir.ids.derive_salt`.

        ``record_keys``: how key variables (and relations to them) are hashed
        before writing; the pipeline always passes them, so source record ids
        are never delivered (None only in tests of the writers themselves).
        """
        return cls(
            registration_id=config.id,
            dictionary=config.dictionary,
            pseudonym_types=config.pseudonymisation.types,
            ids=ResourceIds(salt),
            record_keys=record_keys,
        )

    def approved(self, pseudonyms: PatientPseudonyms) -> tuple[Pseudonym, ...]:
        """The pseudonyms to deliver, in the registration's type order.

        A type the registration is not approved for (above all ``B``, the
        pseudonymised BSN) must never be delivered: that is a fault upstream,
        so it stops the delivery instead of being dropped silently.
        """
        seen: set[PseudonymType] = set()
        for pseudonym in pseudonyms.pseudonyms:
            if pseudonym.type not in self.pseudonym_types:
                raise PseudonymisationError(
                    f"registration {self.registration_id}: pseudonym type {pseudonym.type} "
                    "is not approved for this registration and must not be delivered"
                )
            if pseudonym.type in seen:
                raise PseudonymisationError(
                    f"registration {self.registration_id}: two pseudonyms of type "
                    f"{pseudonym.type} for one patient"
                )
            seen.add(pseudonym.type)
        order = {type_: index for index, type_ in enumerate(self.pseudonym_types)}
        return tuple(sorted(pseudonyms.pseudonyms, key=lambda item: order[item.type]))
