"""Generalised forms of identifiers that a dictionary explicitly asks for.

The Patient resource carries no birth date, postcode or sex unless a
dictionary variable is declared ``generalised_from`` that identifier; then it
carries only the generalised form (birth year, four-digit postcode, sex). The
values come from the validated clinical table (the same values the dataset
records carry), or from a source Patient when no clinical value exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aanlevering.catalogue.model import DataDictionary

BIRTH_YEAR = "birth_date:year"
PC4 = "postcode:pc4"
SEX = "sex"

_PC4 = re.compile(r"[1-9][0-9]{3}")
_YEAR = re.compile(r"[12][0-9]{3}")

#: Dictionary sex codes (Dutch and FHIR spellings) to FHIR administrative gender.
GENDER_CODES: Mapping[str, str] = {
    "M": "male",
    "MALE": "male",
    "V": "female",
    "F": "female",
    "FEMALE": "female",
    "O": "unknown",
    "ONB": "unknown",
    "UNKNOWN": "unknown",
    "OTHER": "other",
    "A": "other",
}


@dataclass(frozen=True, slots=True)
class GeneralisedForms:
    """What the Patient may carry: birth year, PC4 and FHIR gender, each optional."""

    birth_year: str | None = None
    pc4: str | None = None
    gender: str | None = None

    def merged(self, fallback: GeneralisedForms) -> GeneralisedForms:
        """These forms, with gaps filled from ``fallback``."""
        return GeneralisedForms(
            birth_year=self.birth_year or fallback.birth_year,
            pc4=self.pc4 or fallback.pc4,
            gender=self.gender or fallback.gender,
        )

    def complete(self, kinds: frozenset[str]) -> bool:
        """Whether every form in ``kinds`` has a value."""
        return (
            (BIRTH_YEAR not in kinds or self.birth_year is not None)
            and (PC4 not in kinds or self.pc4 is not None)
            and (SEX not in kinds or self.gender is not None)
        )


NO_FORMS = GeneralisedForms()


@dataclass(frozen=True)
class GeneralisedVariables:
    """Per dataset, which variable carries which generalised form."""

    by_dataset: Mapping[str, Mapping[str, str]]  # dataset -> {form kind -> variable}

    @property
    def kinds(self) -> frozenset[str]:
        """The generalised forms this dictionary asks for at all."""
        return frozenset(kind for forms in self.by_dataset.values() for kind in forms)

    def forms(self, dataset: str, row: Mapping[str, Any]) -> GeneralisedForms:
        """The forms in one clinical record of ``dataset`` (values by variable name)."""
        wanted = self.by_dataset.get(dataset)
        if not wanted:
            return NO_FORMS
        return GeneralisedForms(
            birth_year=birth_year_of(row.get(wanted[BIRTH_YEAR])) if BIRTH_YEAR in wanted else None,
            pc4=pc4_of(row.get(wanted[PC4])) if PC4 in wanted else None,
            gender=gender_of(row.get(wanted[SEX])) if SEX in wanted else None,
        )


def generalised_variables(dictionary: DataDictionary) -> GeneralisedVariables:
    """Which variables of ``dictionary`` are declared generalised, and of what."""
    by_dataset: dict[str, dict[str, str]] = {}
    for dataset in dictionary.datasets:
        for variable in dataset.variables:
            if variable.generalised_from:
                by_dataset.setdefault(dataset.name, {})[variable.generalised_from] = variable.name
    return GeneralisedVariables(by_dataset)


def birth_year_of(value: object) -> str | None:
    """``YYYY`` (a valid FHIR partial date) from a year or a date; None when unusable."""
    if value is None:
        return None
    text = str(value)[:4] if not isinstance(value, int) else str(value)
    return text if _YEAR.fullmatch(text) else None


def pc4_of(value: object) -> str | None:
    """The four digits of a Dutch postcode ("1012 NX", "1012nx", "1012"); None when unusable."""
    if value is None:
        return None
    digits = str(value).strip()[:4]
    return digits if _PC4.fullmatch(digits) else None


def gender_of(value: object) -> str | None:
    """FHIR administrative gender of a dictionary or FHIR sex code; None when unknown."""
    if value is None:
        return None
    return GENDER_CODES.get(str(value).strip().upper())


#: The function that makes each generalised form from a clinical value.
FORM_FUNCTIONS: Mapping[str, Callable[[object], str | None]] = {
    BIRTH_YEAR: birth_year_of,
    PC4: pc4_of,
    SEX: gender_of,
}


def forms_of_source_patient(patient: Mapping[str, Any], kinds: frozenset[str]) -> GeneralisedForms:
    """The wanted generalised forms of a source FHIR Patient (birthDate, home address, gender)."""
    birth_year = birth_year_of(patient.get("birthDate")) if BIRTH_YEAR in kinds else None
    pc4 = None
    if PC4 in kinds:
        for address in patient.get("address") or ():
            if address.get("use") in (None, "home") and (
                found := pc4_of(address.get("postalCode"))
            ):
                pc4 = found
                break
    gender = gender_of(patient.get("gender")) if SEX in kinds else None
    return GeneralisedForms(birth_year=birth_year, pc4=pc4, gender=gender)
