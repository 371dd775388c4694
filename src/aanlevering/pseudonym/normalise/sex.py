"""Sex as one of three canonical codes, whatever code set the EHR exported.

Canonical codes of profile nl-2026.1:

* ``M``: male (BRP/Dutch M, man; HL7 M; FHIR male; ISO 5218 1)
* ``F``: female (BRP V, vrouw; HL7 F; FHIR female; ISO 5218 2)
* ``U``: neither recorded as male nor as female: unknown, other,
  undifferentiated, unspecified or not applicable (BRP O "onbekend"; HL7 UN,
  UNK; FHIR other, unknown; ISO 5218 0 and 9; passport X).

The non-binary codes are merged on purpose: "O" means *onbekend* (unknown)
in the BRP but *other* in HL7 v2, so keeping them apart would make the same
person differ between two hospitals. An unrecognised code is an error, never
a guess.
"""

from __future__ import annotations

from functools import lru_cache

from aanlevering.pseudonym.normalise.failures import MISSING, SEX_CODE, FieldInvalid

MALE = "M"
FEMALE = "F"
UNDETERMINED = "U"

#: Accepted codes, lower case and trimmed, to the canonical code.
SEX_CODES: dict[str, str] = {
    **dict.fromkeys(("m", "male", "man", "mannelijk", "1"), MALE),
    **dict.fromkeys(("f", "v", "female", "vrouw", "vrouwelijk", "2"), FEMALE),
    **dict.fromkeys(
        (
            "u",
            "o",
            "x",
            "un",
            "unk",
            "unknown",
            "other",
            "onbekend",
            "anders",
            "overig",
            "ongedifferentieerd",
            "undifferentiated",
            "niet gespecificeerd",
            "0",
            "9",
        ),
        UNDETERMINED,
    ),
}


@lru_cache(maxsize=256, typed=True)
def normalise_sex(value: object) -> str:
    """One of ``M``, ``F``, ``U``; raises :class:`FieldInvalid` for an unknown code."""
    if value is None:
        raise FieldInvalid(MISSING)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise FieldInvalid(SEX_CODE)
    code = SEX_CODES.get(value.strip().lower())
    if code is None:
        raise FieldInvalid(MISSING if not value.strip() else SEX_CODE)
    return code
