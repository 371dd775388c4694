"""Why a field could not be normalised, said without repeating the value.

Every reason is a constant from this module: a reason can then never carry an
identifier, and tests can check the whole catalogue. Field functions raise
:class:`FieldInvalid`; profiles turn it into a :class:`NormalisationFailure`
per pseudonym type (and row, in batches).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aanlevering.errors import PseudonymisationError
from aanlevering.pseudonym_types import PseudonymType

MISSING = "missing"

BSN_CHARACTERS = "not a BSN: expected 9 digits (spaces, dots or hyphens between them are allowed)"
BSN_LENGTH = "wrong number of digits: expected 9 (or 8 when the export lost a leading zero)"
BSN_ELFPROEF = "fails the elfproef (11-test), so it is not a valid BSN"
BSN_ZERO = "all zeros, so it is not a valid BSN"
BSN_DECIMAL = (
    "written as a decimal number (e.g. ending in .0), so digits may be lost or added; "
    "export the BSN as text"
)

DATE_FORMAT = (
    "not a date in a known format: expected YYYY-MM-DD, DD-MM-YYYY, DD/MM/YYYY, DD.MM.YYYY "
    "or YYYYMMDD"
)
DATE_INCOMPLETE = "incomplete (day or month unknown); these pseudonyms need the full birth date"
DATE_IMPOSSIBLE = "not a real calendar date"
DATE_TOO_EARLY = "before 1890, which is not a plausible birth date"
DATE_FUTURE = "lies in the future"
DATE_HAS_TIME = "has a time of day other than midnight; export the date only"

SEX_CODE = (
    "not a recognised sex code: expected e.g. M/V/O (BRP), M/F/UN/UNK (HL7), "
    "male/female/other/unknown (FHIR), man/vrouw or 1/2/0/9 (ISO 5218)"
)

POSTCODE_FORMAT = (
    "not a Dutch postcode: expected 4 digits (the first not 0) and 2 letters, as in 1234 AB"
)
POSTCODE_LETTERS = "not a Dutch postcode: the letter pairs SA, SD and SS are not issued"
POSTCODE_PC4_ONLY = "has only 4 digits; this pseudonym type needs all 6 positions"

HOUSE_NUMBER_FORMAT = (
    "not a house number: expected a whole number from 1 to 99999, optionally followed by "
    "the addition"
)
HOUSE_NUMBER_TWO_ADDITIONS = (
    "has an addition after the number while a separate addition is also given"
)
ADDITION_FORMAT = (
    "not a house number addition: expected at most 5 letters or digits once spaces and "
    "separators are removed"
)

NAME_CHARACTERS = "contains characters other than letters, spaces, hyphens, apostrophes or periods"
NAME_NON_LATIN = (
    "contains letters outside the Latin alphabet; the source must transliterate as the BRP does"
)
NAME_NO_LETTERS = "contains no letters"
NAME_INVERTED_FORM = (
    "has a comma followed by something that is not a voorvoegsel; expected 'name, voorvoegsels' "
    "or the name alone"
)
INITIAL_NO_LETTER = "does not start with a Latin letter"

MRN_CHARACTERS = "contains characters other than letters, digits, '-', '.', '/' or '_'"
MRN_LENGTH = "longer than 64 characters"

#: Every reason a field function may give (tests check none holds a value).
ALL_REASONS: frozenset[str] = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)


class FieldInvalid(PseudonymisationError):
    """One input field cannot be normalised; ``reason`` is one of this module's constants.

    Raised without a cause (``from None``) by the field functions so the
    original value never travels in a chained traceback.
    """

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True, slots=True)
class NormalisationFailure:
    """One pseudonym type that could not be made for one record, and why.

    ``field`` is a :class:`~aanlevering.pseudonym.identifiers.PersonIdentifiers`
    field name; ``row`` the 0-based position in a batch (``None`` for a single
    record). No value of the record is kept.
    """

    type: PseudonymType
    field: str
    reason: str
    row: int | None = None

    def describe(
        self,
        source: str | None = None,
        *,
        first_row: int = 1,
        column_names: Mapping[str, str] | None = None,
    ) -> str:
        """A message for a data steward: where (file, row, column), which type, what is expected.

        ``first_row`` is the row number of batch position 0 in ``source`` (e.g.
        2 for a CSV with a header line); ``column_names`` maps field names to
        the source's own column names.
        """
        column = (column_names or {}).get(self.field, self.field)
        where = [source] if source else []
        if self.row is not None:
            where.append(f"row {self.row + first_row}")
        where.append(f"column {column}")
        return f"{', '.join(where)}: {self.reason} (needed for pseudonym type {self.type})"

    def __str__(self) -> str:
        return self.describe()
