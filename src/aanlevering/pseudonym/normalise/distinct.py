"""A batch given as an Arrow table: every distinct value of a field normalised once.

Why: the field functions are Python, and a million-patient run calls them a
million times per field although a field has far fewer distinct values (birth
dates, sex codes, postcodes, names). Here a column is dictionary-encoded, the
field function runs over its dictionary, and the results are spread back over
the rows and joined per type in Arrow. Failures are collected per row exactly
as the list path of :meth:`DutchProfile.normalise_columns` collects them; the
two are pinned together by property tests. Fields whose two source columns
are combined per row (initials or given names, MRN or patient number) and the
address parts take the list path's own functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.pseudonym.identifiers import PERSON_FIELDS
from aanlevering.pseudonym.normalise.failures import MISSING, FieldInvalid, NormalisationFailure
from aanlevering.pseudonym.normalise.mrn import UPPER_CASE_ONLY
from aanlevering.pseudonym.normalise.postcode import (
    SURELY_PC4,
    SURELY_PC6,
    normalise_pc4,
    normalise_pc6,
)
from aanlevering.pseudonym_types import PseudonymType

_Error = tuple[str, str]
Derived = tuple[pa.Array, dict[int, _Error]]


def _array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


#: Field functions with an Arrow form for their usual values: (RE2 pattern of values the
#: function surely accepts, the canonical form of such values). Pinned by tests to the
#: function itself; anything the pattern does not match goes through the function.
_SURELY: dict[Callable[[object], str], tuple[str, Callable[[pa.Array], pa.Array]]] = {
    normalise_pc4: (SURELY_PC4, lambda values: pc.utf8_slice_codeunits(values, 0, 4)),
    normalise_pc6: (
        SURELY_PC6,
        lambda values: pc.ascii_upper(pc.replace_substring(values, " ", "")),
    ),
}


def distinct_map(
    fn: Callable[[object], str], column: pa.Array, field: str, *, missing: bool = True
) -> Derived:
    """``fn`` over the distinct values of ``column``, spread back over its rows.

    Nulls are failures with :data:`MISSING` (``missing``) or stay null without
    one (a column already null where an earlier step failed).
    """
    column = _array(column)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    encoded = column.dictionary_encode()
    dictionary = encoded.dictionary
    surely = _SURELY.get(fn) if pa.types.is_string(dictionary.type) else None
    results: list[str | None] = []
    bad: dict[int, _Error] = {}
    listed: Iterable[tuple[int, Any]]
    if surely is None:
        listed = enumerate(dictionary.to_pylist())
    else:  # the usual values in Arrow; the rest (and every failure) by ``fn``
        pattern, canonical = surely
        usual = pc.match_substring_regex(dictionary, pattern)
        other = pc.indices_nonzero(pc.invert(usual))
        listed = zip(other.to_pylist(), dictionary.take(other).to_pylist(), strict=True)
    for index, value in listed:
        try:
            results.append(fn(value))
        except FieldInvalid as error:
            results.append(None)
            bad[index] = (error.field or field, error.reason)
    mapped = pa.array(results, pa.string())
    if surely is not None:
        if len(mapped) == 0:
            mapped = canonical(dictionary)
        else:  # each unusual value's result back at its place among the dictionary's
            unusual_before = pc.cumulative_sum(pc.cast(pc.invert(usual), pa.int64()))
            at = pc.max_element_wise(pc.subtract(unusual_before, 1), 0)
            mapped = pc.if_else(usual, canonical(dictionary), mapped.take(at))
    values = mapped.take(encoded.indices)
    errors: dict[int, _Error] = {}
    if missing and column.null_count:
        for row in np.flatnonzero(pc.is_null(column).to_numpy(zero_copy_only=False)):
            errors[int(row)] = (field, MISSING)
    if bad:
        indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        for row in np.flatnonzero(np.isin(indices, np.fromiter(bad, dtype=np.int64))):
            errors[int(row)] = bad[int(indices[row])]
    return values, errors


def plain_mrns(column: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """The canonical MRNs of a text column whose every value is plain, else None.

    Why: an MRN is distinct per person, so the per-distinct-value path saves
    nothing and the list path costs a Python call per person. A plain value
    is never blank (so the patient id column is not consulted), has no space
    to trim and only ASCII letters to upper-case: ``normalise_mrn`` gives
    ``ascii_upper``. Any other value (a null, a space, another character, an
    integer column) returns None and the caller takes the list path.
    """
    column = _array(column)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return None
    if column.null_count or not pc.all(pc.match_substring_regex(column, UPPER_CASE_ONLY)).as_py():
        return None
    return pc.ascii_upper(column).cast(pa.string())


def from_lists(derived: tuple[list[str | None], dict[int, _Error]]) -> Derived:
    """A derived part of the list path as an Arrow column."""
    values, errors = derived
    return pa.array(values, pa.string()), errors


def table_columns(table: Any) -> tuple[dict[str, pa.Array], int]:
    """Arrow columns by :data:`PERSON_FIELDS` name (absent fields all null), and the row count."""
    rows = int(table.num_rows)
    names = set(table.column_names)
    return {
        name: _array(table.column(name)) if name in names else pa.nulls(rows, pa.string())
        for name in PERSON_FIELDS
    }, rows


def join_type(
    type_: PseudonymType,
    parts: list[Derived],
    separator: str,
    failures: list[NormalisationFailure],
) -> list[str | None]:
    """One type's canonical inputs (parts joined, None where a part failed); failures appended
    per failing row, each (field, reason) once, in the order of the parts."""
    joined = pc.binary_join_element_wise(*[values for values, _ in parts], separator)
    bad: set[int] = set()
    for _, errors in parts:
        bad.update(errors)
    for row in sorted(bad):
        seen: set[_Error] = set()
        for _, errors in parts:
            error = errors.get(row)
            if error is not None and error not in seen:
                seen.add(error)
                failures.append(NormalisationFailure(type_, *error, row=row))
    values: list[str | None] = joined.to_pylist()
    return values


def lists_of(columns: dict[str, pa.Array], names: Iterable[str]) -> dict[str, list[object]]:
    """Python lists of some columns, for the parts that the list path's functions make."""
    return {name: columns[name].to_pylist() for name in names}
