"""BSN (burgerservicenummer) as nine digits that pass the elfproef.

Spaces, dots and hyphens between the digits are allowed ("1234.56.782").
Exports that stored the BSN as a number lose a leading zero; eight digits
(or an integer of eight digits) therefore get it back. More lost zeros are not
guessed: strings and integers follow the same rule. Text of a decimal number
("10000094.0", what an export that held the BSN as a float writes) is an error:
dropping the dot as a separator would make it another, possibly valid, BSN
(decision 0385). Anything else, and any number that fails the elfproef, is an
error for that record: an invalid BSN is never hashed, because its pseudonym
would link nobody or the wrong person.
"""

from __future__ import annotations

import re

from aanlevering.pseudonym.normalise.failures import (
    BSN_CHARACTERS,
    BSN_DECIMAL,
    BSN_ELFPROEF,
    BSN_LENGTH,
    BSN_ZERO,
    MISSING,
    FieldInvalid,
)

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)
#: A number with a decimal point and only zeros after it: a float written as text.
_DECIMAL_TEXT = re.compile(r"\s*[0-9]+\.0+\s*")


def passes_elfproef(digits: str) -> bool:
    """The BSN 11-test: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is a multiple of 11."""
    return sum(w * (ord(c) - 48) for w, c in zip(_WEIGHTS, digits, strict=True)) % 11 == 0


def normalise_bsn(value: object) -> str:
    """Nine-digit BSN; raises :class:`FieldInvalid` (never showing the number)."""
    if value is None:
        raise FieldInvalid(MISSING)
    if isinstance(value, int) and not isinstance(value, bool):
        if not 10**7 <= value < 10**9:
            raise FieldInvalid(BSN_LENGTH)
        digits = f"{value:09d}"
    elif isinstance(value, str):
        if _DECIMAL_TEXT.fullmatch(value):
            raise FieldInvalid(BSN_DECIMAL)
        digits = "".join(value.split()).replace(".", "").replace("-", "")
        if not digits:
            raise FieldInvalid(MISSING)
        if not (digits.isascii() and digits.isdigit()):
            raise FieldInvalid(BSN_CHARACTERS)
        if len(digits) == 8:
            digits = "0" + digits
        elif len(digits) != 9:
            raise FieldInvalid(BSN_LENGTH)
    else:
        raise FieldInvalid(BSN_CHARACTERS)
    if digits == "000000000":
        raise FieldInvalid(BSN_ZERO)
    if not passes_elfproef(digits):
        raise FieldInvalid(BSN_ELFPROEF)
    return digits
