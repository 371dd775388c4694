"""Dutch postcode as PC6 ("1012NX") or PC4 ("1012").

Spaces and hyphens are removed and letters upper-cased, so "1012 NX",
"1012nx" and "1012-NX" are the same postcode. A postcode is checked, not
trusted: four digits with the first not 0, then two letters other than SA,
SD and SS (PostNL does not issue those). A foreign or mistyped postcode is an
error for the types that need it, never hashed as it is.
"""

from __future__ import annotations

import re
from functools import lru_cache

from aanlevering.pseudonym.normalise.failures import (
    MISSING,
    POSTCODE_FORMAT,
    POSTCODE_LETTERS,
    POSTCODE_PC4_ONLY,
    FieldInvalid,
)

_PC6 = re.compile(r"[1-9][0-9]{3}[A-Z]{2}")
_PC4 = re.compile(r"[1-9][0-9]{3}")
_NOT_ISSUED = frozenset({"SA", "SD", "SS"})
#: RE2 patterns of values :func:`normalise_pc6` and :func:`normalise_pc4` surely accept,
#: in their usual shapes only (``1234AB``, ``1234 AB``, letters other than SA/SD/SS); for
#: checks over whole Arrow columns, which judge anything else value by value.
SURELY_PC6 = r"^[1-9][0-9]{3} ?(?:[A-RT-Za-rt-z][A-Za-z]|[Ss][BCE-RT-Zbce-rt-z])$"
SURELY_PC4 = rf"{SURELY_PC6}|^[1-9][0-9]{{3}}$"


def _clean(text: str) -> str:
    """PC6 or PC4 in canonical form; raises for anything else."""
    cleaned = "".join(text.split()).replace("-", "").upper()
    if not cleaned:
        raise FieldInvalid(MISSING) from None
    if _PC6.fullmatch(cleaned):
        if cleaned[4:] in _NOT_ISSUED:
            raise FieldInvalid(POSTCODE_LETTERS) from None
        return cleaned
    if _PC4.fullmatch(cleaned):
        return cleaned
    raise FieldInvalid(POSTCODE_FORMAT) from None


def _text(value: object) -> str:
    if value is None:
        raise FieldInvalid(MISSING)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    raise FieldInvalid(POSTCODE_FORMAT)


@lru_cache(maxsize=1 << 16, typed=True)
def normalise_pc6(value: object) -> str:
    """The full postcode ("1012NX"); a bare PC4 is an error for types that need PC6."""
    cleaned = _clean(_text(value))
    if len(cleaned) != 6:
        raise FieldInvalid(POSTCODE_PC4_ONLY)
    return cleaned


@lru_cache(maxsize=1 << 16, typed=True)
def normalise_pc4(value: object) -> str:
    """The four digits of a valid postcode, from a PC6 or a PC4 ("1012")."""
    return _clean(_text(value))[:4]
