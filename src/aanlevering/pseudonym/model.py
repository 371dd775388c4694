"""The pseudonyms of a person as the pseudonymisation step hands them to delivery.

The TTP client produces these; the FHIR and CSV output consume them. A person
may have several pseudonyms side by side (one per approved type); a type that
could not be computed for a person (no birth name, no postcode) is simply
absent, and the caller reports that failure.

``PatientPseudonyms.patient_id`` is the source's patient number: an identifier
that must never be delivered or logged, so the ``repr`` leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from aanlevering.pseudonym.types import PseudonymType


@dataclass(frozen=True, slots=True)
class Pseudonym:
    """One pseudonym of one person.

    ``temporary``: a web-mode pseudonym that the registry holder still has to
    exchange for a definitive one at the TTP. ``key_version``: the version of
    the registration's key it was made with (keys rotate). ``profile``: the
    normalisation profile its input was normalised with (e.g. ``nl-2026.1``).
    """

    type: PseudonymType
    value: str
    key_version: int
    temporary: bool
    profile: str


@dataclass(frozen=True, slots=True, repr=False)
class PatientPseudonyms:
    """All pseudonyms computed for one source patient, at most one per type."""

    patient_id: str
    pseudonyms: tuple[Pseudonym, ...]

    def get(self, type_: PseudonymType) -> Pseudonym | None:
        """The pseudonym of this type, or None when it could not be computed."""
        for pseudonym in self.pseudonyms:
            if pseudonym.type == type_:
                return pseudonym
        return None

    @property
    def types(self) -> tuple[PseudonymType, ...]:
        """The types present, in the order given."""
        return tuple(pseudonym.type for pseudonym in self.pseudonyms)

    def __repr__(self) -> str:
        types = ",".join(str(type_) for type_ in self.types)
        return f"PatientPseudonyms(patient_id=<hidden>, types=[{types}])"
