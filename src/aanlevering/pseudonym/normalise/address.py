"""House number and house number addition (huisnummertoevoeging).

The number is a whole number from 1 to 99999 written without leading zeros.
The addition (BAG huisletter plus toevoeging) is folded to upper-case A-Z and
digits with spaces and separators removed, at most 5 positions: "a", "A",
"-a" and " A " are all "A"; "2 hg" is "2HG"; "t/o" is "TO". No addition is
the empty string.

Some exports put the addition in the number column ("12a", "12-2"). When the
addition column is empty, the tail after the digits is taken as the
addition, so both ways of writing the same address agree; when both hold
something, the record is an error because we cannot know which is right.
"""

from __future__ import annotations

import re
from functools import lru_cache

from aanlevering.pseudonym.normalise.failures import (
    ADDITION_FORMAT,
    HOUSE_NUMBER_FORMAT,
    HOUSE_NUMBER_TWO_ADDITIONS,
    MISSING,
    FieldInvalid,
)
from aanlevering.pseudonym.normalise.names import fold_letters

_NUMBER = re.compile(r"\s*0*([1-9][0-9]{0,4})(?![0-9])(.*)", re.DOTALL)
_ADDITION_DROP = str.maketrans("", "", " \t\u00a0-/.,_'\u2013")
_ADDITION = re.compile(r"[A-Z0-9]{0,5}")
_DIGITS = re.compile(r"[0-9]+")


@lru_cache(maxsize=1 << 12)
def normalise_addition(text: str) -> str:
    """Canonical addition ("" when there is none); raises for an unusable one."""
    stripped = text.translate(_ADDITION_DROP)
    parts = _DIGITS.split(stripped)
    digits = _DIGITS.findall(stripped)
    try:
        letters = [fold_letters(part) for part in parts]
    except FieldInvalid:
        raise FieldInvalid(ADDITION_FORMAT) from None
    canonical = letters[0] + "".join(d + p for d, p in zip(digits, letters[1:], strict=True))
    if not _ADDITION.fullmatch(canonical):
        raise FieldInvalid(ADDITION_FORMAT) from None
    return canonical


def _split_number(number: object) -> tuple[str, str]:
    """(canonical number, text after it) of a house number column value."""
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, int) and not isinstance(number, bool):
        if not 1 <= number <= 99999:
            raise FieldInvalid(HOUSE_NUMBER_FORMAT, "house_number")
        return str(number), ""
    if not isinstance(number, str):
        raise FieldInvalid(HOUSE_NUMBER_FORMAT, "house_number")
    if not number.strip():
        raise FieldInvalid(MISSING, "house_number")
    match = _NUMBER.fullmatch(number)
    if match is None:
        raise FieldInvalid(HOUSE_NUMBER_FORMAT, "house_number")
    return match[1], match[2].strip()


def normalise_house_number(number: object, addition: object) -> tuple[str, str]:
    """(number, addition) in canonical form; see the module docstring for the rules.

    Raises :class:`FieldInvalid` whose ``field`` says which of the two
    columns is at fault.
    """
    if number is None:
        raise FieldInvalid(MISSING, "house_number")
    canonical_number, tail = _split_number(number)
    if isinstance(addition, int) and not isinstance(addition, bool):
        addition = str(addition)
    if addition is not None and not isinstance(addition, str):
        raise FieldInvalid(ADDITION_FORMAT, "house_number_addition")
    given = (addition or "").strip()
    if tail and given:
        raise FieldInvalid(HOUSE_NUMBER_TWO_ADDITIONS, "house_number")
    try:
        return canonical_number, normalise_addition(tail or given)
    except FieldInvalid as error:
        field = "house_number" if tail else "house_number_addition"
        raise FieldInvalid(error.reason, field) from None
