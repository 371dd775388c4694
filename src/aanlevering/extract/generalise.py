"""Generalised variables: coarse clinical values computed from identity fields.

Registrations may receive a birth *year* or a four-digit postcode (PC4), never
the full birth date or postcode. The dictionary marks such variables with
``generalised_from`` (``birth_date:year``, ``postcode:pc4``, ``sex``); they are
computed here, in the clinical table, so the identity table stays the only
place that holds the full value.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.extract.casts import parse_timestamps
from aanlevering.extract.rows import ArrayLike

_NULL_STRING = pa.scalar(None, pa.string())

#: Identity field each generalisation reads.
SOURCE_FIELD: dict[str, str] = {
    "birth_date:year": "birth_date",
    "postcode:pc4": "postcode",
    "sex": "sex",
}


def birth_year(birth_dates: ArrayLike, date_formats: Sequence[str]) -> ArrayLike:
    """Year of birth (int64) from birth dates written in one of ``date_formats``."""
    return pc.cast(pc.year(parse_timestamps(birth_dates, date_formats)), pa.int64())


def pc4(postcodes: ArrayLike) -> ArrayLike:
    """The four digits of a Dutch postcode ("1012 NX", "1012nx", "1012") or null."""
    compact = pc.utf8_upper(pc.replace_substring(postcodes, " ", ""))
    ok = pc.match_substring_regex(compact, r"^[1-9][0-9]{3}([A-Z]{2})?$")
    return pc.utf8_slice_codeunits(pc.if_else(ok, compact, _NULL_STRING), 0, 4)


def generalise(kind: str, source: ArrayLike, date_formats: Sequence[str]) -> ArrayLike:
    """The generalised column of ``kind`` from its identity column."""
    if kind == "birth_date:year":
        return birth_year(source, date_formats)
    if kind == "postcode:pc4":
        return pc4(source)
    if kind == "sex":
        return source
    raise ValueError(f"unknown generalisation {kind!r}")  # the schema prevents this


def expected_source(kind: str, date_formats: Sequence[str]) -> str:
    """What the identity value must look like, for TypeProblem.expected."""
    if kind == "birth_date:year":
        return "year of a birth date written as " + " or ".join(date_formats)
    if kind == "postcode:pc4":
        return "first four digits of a Dutch postcode (1234 AB)"
    return "a value"
