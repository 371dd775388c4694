"""The pseudonyms a delivery may carry for a person, checked once and labelled.

Both the FHIR Patient and the CSV pseudonym columns go through here, so the
rules are the same in every format: only types the registration is approved
for, at most one per type, in the registration's type order; values that
make a valid identifier. It also collects which key versions and
normalisation profiles went into the delivery, for the manifest.
"""

from __future__ import annotations

import re

from aanlevering.errors import PseudonymisationError
from aanlevering.fhir.context import DeliveryContext
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym_types import PseudonymType

INT32_MAX = 2**31 - 1
_VALUE = re.compile(r"\S{1,1024}")
#: Several values joined by newlines, each a valid value: one regex call per person.
_VALUES = re.compile(r"\S{1,1024}(?:\n\S{1,1024})*")
_PROFILE = re.compile(r"\S(?:[ \S]{0,126}\S)?")

Label = tuple[PseudonymType, int, str, bool]


def check_label(pseudonym: Pseudonym) -> None:
    """Refuse a key version or profile that cannot be delivered (values never echoed)."""
    version = pseudonym.key_version
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= INT32_MAX:
        raise PseudonymisationError(
            f"pseudonym of type {pseudonym.type}: key version must be an integer 0..{INT32_MAX}"
        )
    if not isinstance(pseudonym.profile, str) or not _PROFILE.fullmatch(pseudonym.profile):
        raise PseudonymisationError(
            f"pseudonym of type {pseudonym.type}: normalisation profile name is empty or invalid"
        )


def check_value(pseudonym: Pseudonym) -> None:
    """Refuse a pseudonym value that is not a valid identifier value (never echoed)."""
    if not isinstance(pseudonym.value, str) or not _VALUE.fullmatch(pseudonym.value):
        raise PseudonymisationError(
            f"pseudonym of type {pseudonym.type}: value must be 1 to 1024 characters "
            "without whitespace"
        )


def _values_ok(values: list[str]) -> bool:
    """Whether every value is valid (no value can hide a newline: the count must match)."""
    if not all(isinstance(value, str) for value in values):
        return False
    joined = "\n".join(values)
    return joined.count("\n") == len(values) - 1 and _VALUES.fullmatch(joined) is not None


class ApprovedPseudonyms:
    """Selects and checks the deliverable pseudonyms of each person of one delivery."""

    def __init__(self, context: DeliveryContext) -> None:
        self.context = context
        self._orders: dict[tuple[PseudonymType, ...], tuple[int, ...]] = {}
        self._labels: set[Label] = set()

    def of(self, pseudonyms: PatientPseudonyms) -> list[Pseudonym]:
        """The approved pseudonyms of one person in the registration's type order.

        Raises :class:`PseudonymisationError` for an unapproved type, two of
        one type, or a value, key version or profile that cannot be delivered.
        """
        types = tuple(pseudonym.type for pseudonym in pseudonyms.pseudonyms)
        order = self._orders.get(types)
        if order is None:
            approved = self.context.approved(pseudonyms)
            order = tuple(types.index(pseudonym.type) for pseudonym in approved)
            self._orders[types] = order
        chosen = [pseudonyms.pseudonyms[position] for position in order]
        if chosen and not _values_ok([pseudonym.value for pseudonym in chosen]):
            for pseudonym in chosen:  # find and name the offending type
                check_value(pseudonym)
        labels = self._labels
        for pseudonym in chosen:
            label = (pseudonym.type, pseudonym.key_version, pseudonym.profile, pseudonym.temporary)
            if label not in labels:
                check_label(pseudonym)
                labels.add(label)
        return chosen

    def note_label(self, pseudonym: Pseudonym) -> None:
        """Count a (checked) label as delivered, for callers that select in bulk."""
        self._labels.add(
            (pseudonym.type, pseudonym.key_version, pseudonym.profile, pseudonym.temporary)
        )

    def labels(self) -> tuple[dict[str, tuple[int, ...]], tuple[str, ...]]:
        """Key versions per type and the profiles of every pseudonym selected so far."""
        versions: dict[str, set[int]] = {}
        for type_, version, _, _ in self._labels:
            versions.setdefault(type_.value, set()).add(version)
        ordered: dict[str, tuple[int, ...]] = {
            type_.value: tuple(sorted(versions[type_.value]))
            for type_ in self.context.pseudonym_types
            if type_.value in versions
        }
        return ordered, tuple(sorted({label[2] for label in self._labels}))
