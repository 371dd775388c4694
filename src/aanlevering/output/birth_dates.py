"""A clinical date column that holds each patient's own birth date: refused before writing.

Why: the catalogue guard refuses mappings whose source column is named like an identity
field (``GEBOORTEDATUM``), and the output guard searches the written files for the run's
BSNs, patient numbers, names and postcodes. To both, a birth date is a date like any
other: an export's birth date column under a name of its own (``GEB_DT``), mapped by
mistake to ``datum_ontslag``, would be delivered in full, and a full birth date is never
delivered (the dictionary's ``generalised_from: birth_date:year`` gives the year).

A column is taken for a birth date column when, of its records that have both a date
and a birth date, at least :data:`BLOCKING_SHARE` hold the patient's own birth date
(and at least one does). A few records whose clinical date is the birth day (a
newborn's operation) are not a mapping error: they are counted in the log, never shown.
Compared are date and datetime variables, string variables whose whole value is a
date in a format Dutch exports use (what :func:`normalise_birth_date` reads), and integer
and decimal variables holding the number YYYYMMDD. Nothing here logs or raises a value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.guard import IdentifierInDelivery
from aanlevering.output.patient_identity import identity_column
from aanlevering.pseudonym.normalise.dates import normalise_birth_date
from aanlevering.pseudonym.normalise.failures import FieldInvalid

log = logging.getLogger(__name__)

#: Share of a column's compared records (date and birth date both present) at which the
#: column is taken for a birth date column and the delivery is refused.
BLOCKING_SHARE = 0.5
#: A string value that may be a whole date: ISO, Dutch day-first, or eight digits.
_DATE_TEXT = r"^\s*(\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|\d{8})\s*$"


@dataclass(frozen=True)
class BirthDateColumn:
    """How many records of one variable hold their patient's own birth date."""

    dataset: str
    variable: str
    matches: int
    compared: int

    @property
    def blocks(self) -> bool:
        """Whether this is a birth date column (the delivery is refused), not a coincidence."""
        return self.matches > 0 and self.matches >= BLOCKING_SHARE * self.compared


def refuse_birth_date_columns(
    registration_id: str, datasets: Mapping[str, ExtractedDataset]
) -> None:
    """Raise :class:`IdentifierInDelivery` (exit 2) when a variable is a birth date column.

    Called before the delivery files are written, so a refused delivery leaves nothing
    behind. The message names dataset, variable and counts, never a value.
    """
    columns = birth_date_columns(datasets)
    for column in columns:
        if not column.blocks:
            log.info(
                "%s.%s: %d of %d record(s) have the patient's birth day as their date "
                "(fewer than a birth date column would; delivered)",
                column.dataset,
                column.variable,
                column.matches,
                column.compared,
            )
    blocking = [column for column in columns if column.blocks]
    if not blocking:
        return
    where = "; ".join(
        f"{c.dataset}.{c.variable} in {c.matches} of {c.compared} record(s)" for c in blocking
    )
    raise IdentifierInDelivery(
        f"registration {registration_id}: delivery blocked, {len(blocking)} variable(s) hold "
        f"each patient's own birth date ({where}): a birth date column mapped to a clinical "
        "variable, or a clinical date exported as the birth date? A full birth date is never "
        "delivered (the dictionary's generalised_from: birth_date:year gives the year); "
        "correct the mapping or the export; nothing was staged"
    )


def birth_date_columns(datasets: Mapping[str, ExtractedDataset]) -> list[BirthDateColumn]:
    """Each date-like variable with at least one record holding its patient's birth date."""
    found: list[BirthDateColumn] = []
    for name, dataset in datasets.items():
        # A child dataset's records (DSAA's complicatie) take the birth date of their
        # patient from another dataset of the run (decision 0851).
        own = identity_column(datasets, name, "birth_date") if dataset.num_rows else None
        if own is None:
            continue
        births = birth_dates(own)
        if births.null_count == len(births):
            continue
        compact: pa.Array | None = None
        for variable in dataset.clinical.column_names:
            column = _flat(dataset.clinical.column(variable))
            if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
                # A birth date written as the number YYYYMMDD (19480105), in an integer
                # or a decimal variable (decision 0600).
                if compact is None:
                    compact = compact_dates(births)
                if pa.types.is_integer(column.type):
                    same = pc.equal(pc.cast(column, pa.int64()), compact)
                else:
                    same = pc.equal(pc.cast(column, pa.float64()), pc.cast(compact, pa.float64()))
            else:
                values = as_dates(column)
                if values is None:
                    continue
                same = pc.equal(values, births)  # null where either is missing
            matches = pc.sum(same).as_py() or 0
            if matches:
                compared = len(same) - same.null_count
                found.append(BirthDateColumn(name, variable, matches, compared))
    return found


def birth_dates(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each row's birth date as a date, null where it is missing or not a complete date."""
    return _dates_of_texts(pc.cast(_flat(column), pa.string()))


def compact_dates(dates: pa.Array) -> pa.Array:
    """Each date as the number YYYYMMDD (int64), as a compact birth date is written."""
    year = pc.multiply(pc.cast(pc.year(dates), pa.int64()), 10_000)
    month = pc.multiply(pc.cast(pc.month(dates), pa.int64()), 100)
    return pc.add(pc.add(year, month), pc.cast(pc.day(dates), pa.int64()))


def as_dates(column: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """A date, datetime or string column as dates (None for any other type; integers and
    decimals are compared as YYYYMMDD by :func:`birth_date_columns`)."""
    flat = _flat(column)
    if pa.types.is_date32(flat.type):
        return flat
    if pa.types.is_date(flat.type) or pa.types.is_timestamp(flat.type):
        return pc.cast(flat, pa.date32())
    if pa.types.is_string(flat.type) or pa.types.is_large_string(flat.type):
        return _dates_of_texts(flat.cast(pa.string()))
    return None


def _dates_of_texts(texts: pa.Array) -> pa.Array:
    """Each text read as :func:`normalise_birth_date` reads it; null where it is no date.

    Each distinct text is read once (a million records hold far fewer distinct dates),
    and only texts shaped like a whole date are read at all.
    """
    shaped = pc.fill_null(pc.match_substring_regex(texts, _DATE_TEXT), False)
    candidates = pc.unique(pc.filter(texts, shaped))
    parsed: list[date | None] = []
    for text in candidates.to_pylist():
        try:
            digits = normalise_birth_date(text)
        except FieldInvalid:
            parsed.append(None)
            continue
        parsed.append(date(int(digits[:4]), int(digits[4:6]), int(digits[6:])))
    index = pc.index_in(texts, value_set=candidates)
    at = pc.if_else(shaped, index, pa.scalar(None, index.type))
    return pa.array(parsed, pa.date32()).take(at)


def _flat(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
