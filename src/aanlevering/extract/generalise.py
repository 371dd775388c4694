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


def generalise_mapped(
    kind: str, source: ArrayLike, date_formats: Sequence[str]
) -> ArrayLike | None:
    """A column mapped straight onto a generalised variable, generalised all the same.

    Why (decision 1071): the catalogue lets an export's own birth-year or PC4
    column fill such a variable instead of the identity field. A column that
    holds the full value under another name (a postcode ``1234 AB``, a birth
    date ``19560312``, which passes as an integer) was delivered as written,
    stopped only by the dictionary's pattern or range check, which
    ``block_on: never`` turns off. A value already generalised stays as it is
    (``1234``, ``1956``); a full one is cut to its generalised form; anything
    else is null (a type problem). None: nothing to cut (``sex``).
    """
    if kind == "postcode:pc4":
        return pc4(pc.cast(source, pa.string()))
    if kind == "birth_date:year":
        text = pc.utf8_trim_whitespace(pc.cast(source, pa.string()))
        is_year = pc.fill_null(pc.match_substring_regex(text, r"^[12][0-9]{3}$"), False)
        years = pc.cast(pc.if_else(is_year, text, _NULL_STRING), pa.int64())
        return pc.coalesce(years, birth_year(pc.if_else(is_year, _NULL_STRING, text), date_formats))
    return None


def expected_mapped(kind: str, date_formats: Sequence[str]) -> str:
    """What a column mapped onto a generalised variable must hold, for TypeProblem.expected."""
    if kind == "birth_date:year":
        return "a year (1956) or a birth date written as " + " or ".join(date_formats)
    return expected_source(kind, date_formats)


def expected_source(kind: str, date_formats: Sequence[str]) -> str:
    """What the identity value must look like, for TypeProblem.expected."""
    if kind == "birth_date:year":
        return "year of a birth date written as " + " or ".join(date_formats)
    if kind == "postcode:pc4":
        return "first four digits of a Dutch postcode (1234 AB)"
    return "a value"
