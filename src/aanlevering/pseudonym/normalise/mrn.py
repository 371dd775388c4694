"""The hospital's own patient number (MRN), kept reversible.

The MRN pseudonym must turn back into the hospital's own number, so
normalisation changes as little as possible: surrounding whitespace is
trimmed and letters are upper-cased (hospital numbers are not told apart by
case, and are typed in by hand in both cases). Leading zeros are kept: they
are part of the number, "0012345" and "12345" may be different patients,
and dropping them would make the revealed number differ from the one in the
EHR. Extracts must therefore read MRN columns as text, not as integers.

Allowed characters are letters, digits and ``- . / _``, at most 64 (FHIR
ids, e.g. the UUIDs of Synthea and many FHIR servers, are up to 64); anything
else is an error rather than a silent change.
"""

from __future__ import annotations

import re

from aanlevering.pseudonym.normalise.failures import (
    MISSING,
    MRN_CHARACTERS,
    MRN_LENGTH,
    FieldInvalid,
)

MAX_LENGTH = 64
_ALLOWED = re.compile(r"[A-Z0-9./_-]+")
#: RE2 pattern of the values :func:`normalise_mrn` accepts and only upper-cases (nothing
#: to trim, nothing refused): for checks over whole Arrow columns.
UPPER_CASE_ONLY = rf"^[A-Za-z0-9./_-]{{1,{MAX_LENGTH}}}$"


def normalise_mrn(value: object) -> str:
    """Canonical MRN (trimmed, upper case); raises :class:`FieldInvalid`."""
    if value is None:
        raise FieldInvalid(MISSING)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise FieldInvalid(MRN_CHARACTERS)
    stripped = value.strip()
    if not stripped:
        raise FieldInvalid(MISSING)
    canonical = stripped.upper()
    if not (stripped.isascii() and _ALLOWED.fullmatch(canonical)):
        raise FieldInvalid(MRN_CHARACTERS)
    if len(canonical) > MAX_LENGTH:
        raise FieldInvalid(MRN_LENGTH)
    return canonical
