"""Profile nl-2026.1: our Dutch normalisation rules, composed per pseudonym type.

Each pseudonym type's canonical input is its parts, normalised by the field
modules of this package, joined with ``|`` in a fixed order:

====== ===================================== ==========================
type   parts                                 example (fictional person)
====== ===================================== ==========================
B      BSN                                   ``123456782``
NGGV   name8 | birth date | sex | initial    ``JANSEN##|19800131|M|J``
sNGGV  name4 | birth date | sex | initial    ``JANS|19800131|M|J``
NGG    name8 | birth date | sex              ``JANSEN##|19800131|M``
sNGG   name4 | birth date | sex              ``JANS|19800131|M``
C      PC6 | birth date | sex                ``1012NX|19800131|M``
RGG    PC4 | birth date | sex                ``1012|19800131|M``
GG     birth date | sex                      ``19800131|M``
A      PC6 | house number | addition         ``1012NX|12|A`` / ``1012NX|12|``
MRN    MRN                                   ``0012345``
====== ===================================== ==========================

No part can contain ``|`` (every part is A-Z, 0-9, ``#`` or, for the MRN,
``-./_``), so the encoding is unambiguous. The type name and profile version
are not in the canonical string; the source step puts them in front when it
hashes (see :mod:`aanlevering.pseudonym.source_step`).

A batch normalises each field once per row and shares it between types, so
asking for five types costs little more than asking for one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from aanlevering.errors import ConfigError
from aanlevering.pseudonym.identifiers import PERSON_FIELDS, PersonIdentifiers
from aanlevering.pseudonym.normalise.address import normalise_addition, normalise_house_number
from aanlevering.pseudonym.normalise.base import CanonicalColumns, ColumnsInput, NormalisedPerson
from aanlevering.pseudonym.normalise.bsn import normalise_bsn
from aanlevering.pseudonym.normalise.columns import column_lists
from aanlevering.pseudonym.normalise.dates import normalise_birth_date
from aanlevering.pseudonym.normalise.failures import MISSING, FieldInvalid, NormalisationFailure
from aanlevering.pseudonym.normalise.mrn import normalise_mrn
from aanlevering.pseudonym.normalise.names import birth_name_letters, first_initial, fit
from aanlevering.pseudonym.normalise.postcode import normalise_pc4, normalise_pc6
from aanlevering.pseudonym.normalise.sex import normalise_sex
from aanlevering.pseudonym_types import PseudonymType

SEPARATOR = "|"

T = PseudonymType

#: Parts of each type's canonical input, in order (names of derived columns).
TYPE_PARTS: dict[PseudonymType, tuple[str, ...]] = {
    T.B: ("bsn",),
    T.NGGV: ("name8", "birth_date", "sex", "initial"),
    T.SNGGV: ("name4", "birth_date", "sex", "initial"),
    T.NGG: ("name8", "birth_date", "sex"),
    T.SNGG: ("name4", "birth_date", "sex"),
    T.C: ("pc6", "birth_date", "sex"),
    T.RGG: ("pc4", "birth_date", "sex"),
    T.GG: ("birth_date", "sex"),
    T.A: ("pc6", "house_number", "addition"),
    T.MRN: ("mrn",),
}

_Error = tuple[str, str]  # (field, reason)
_Derived = tuple[list[str | None], dict[int, _Error]]


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _map(fn: Callable[[object], str], values: Sequence[object], field: str) -> _Derived:
    """Apply a field function to a column, collecting (field, reason) per failing row.

    Field functions raise ``FieldInvalid(MISSING)`` for None and blanks
    themselves. A clean column takes one list comprehension; only a column
    with a failure is walked again row by row to collect the reasons.
    """
    try:
        return [fn(value) for value in values], {}
    except FieldInvalid:
        pass
    out: list[str | None] = []
    append = out.append
    errors: dict[int, _Error] = {}
    for row, value in enumerate(values):
        if value is None:
            append(None)
            errors[row] = (field, MISSING)
            continue
        try:
            append(fn(value))
        except FieldInvalid as error:
            append(None)
            errors[row] = (error.field or field, error.reason)
    return out, errors


def _coalesced(
    fn: Callable[[object], str],
    first: Sequence[object],
    second: Sequence[object],
    first_field: str,
    second_field: str,
) -> _Derived:
    """Apply ``fn`` to the first non-blank of two columns, blaming the column used.

    Sources usually fill only one of the two (initials or given names, MRN
    or patient id), so a second column without values costs one scan.
    """
    if all(value is None for value in second):
        return _map(fn, first, first_field)
    values: list[object] = []
    from_second: set[int] = set()
    for row, (a, b) in enumerate(zip(first, second, strict=True)):
        if _blank(a) and not _blank(b):
            values.append(b)
            from_second.add(row)
        else:
            values.append(a)
    out, errors = _map(fn, values, first_field)
    return out, {
        row: (second_field if row in from_second else first_field, reason)
        for row, (_, reason) in errors.items()
    }


@dataclass(frozen=True)
class DutchProfile:
    """The rules of docs/normalisation.md, under one version string."""

    version: str = "nl-2026.1"
    types: frozenset[PseudonymType] = frozenset(TYPE_PARTS)

    def _requested(self, types: Iterable[PseudonymType | str]) -> list[PseudonymType]:
        requested: list[PseudonymType] = []
        for raw in types:
            try:
                type_ = PseudonymType(raw)
            except ValueError:
                raise ConfigError(f"unknown pseudonym type {raw!r}") from None
            if type_ not in self.types:
                raise ConfigError(f"profile {self.version} cannot make type {type_}")
            if type_ not in requested:
                requested.append(type_)
        return requested

    def _derive(self, part: str, cols: dict[str, list[object]], cache: dict[str, _Derived]) -> None:
        """Compute the derived column ``part`` (and siblings computed with it) into ``cache``."""
        if part in cache:
            return
        if part in ("name8", "name4"):
            if "name" not in cache:
                cache["name"] = _map(birth_name_letters, cols["own_name"], "own_name")
            letters, errors = cache["name"]
            length = 8 if part == "name8" else 4
            cache[part] = ([None if v is None else fit(v, length) for v in letters], errors)
        elif part == "initial":
            cache[part] = _coalesced(
                first_initial, cols["initials"], cols["given_names"], "initials", "given_names"
            )
        elif part == "mrn":
            cache[part] = _coalesced(
                normalise_mrn, cols["mrn"], cols["patient_id"], "mrn", "patient_id"
            )
        elif part in ("house_number", "addition"):
            self._derive_address(cols, cache)
        else:
            fn, field = _SIMPLE_PARTS[part]
            cache[part] = _map(fn, cols[field], field)

    @staticmethod
    def _derive_address(cols: dict[str, list[object]], cache: dict[str, _Derived]) -> None:
        numbers: list[str | None] = []
        additions: list[str | None] = []
        errors: dict[int, _Error] = {}
        for row, (number, addition) in enumerate(
            zip(cols["house_number"], cols["house_number_addition"], strict=True)
        ):
            try:
                canonical_number, canonical_addition = normalise_house_number(
                    None if _blank(number) else number, addition
                )
            except FieldInvalid as error:
                numbers.append(None)
                additions.append(None)
                errors[row] = (error.field or "house_number", error.reason)
            else:
                numbers.append(canonical_number)
                additions.append(canonical_addition)
        cache["house_number"] = (numbers, errors)
        cache["addition"] = (additions, errors)

    def normalise_columns(
        self, columns: ColumnsInput, types: Iterable[PseudonymType | str]
    ) -> CanonicalColumns:
        """Canonical inputs for a batch; failures are collected per row and type, never raised.

        ``columns`` are keyed by :class:`PersonIdentifiers` field name (lists,
        pyarrow arrays, or a pyarrow table with those column names). A table
        takes :meth:`_normalise_table` (each distinct value once); the result
        is the same.
        """
        if hasattr(columns, "column_names") and hasattr(columns, "column"):
            return self._normalise_table(columns, types)
        return self.normalise_lists(columns, types)

    def _normalise_table(
        self, table: Any, types: Iterable[PseudonymType | str]
    ) -> CanonicalColumns:
        """:meth:`normalise_lists` over an Arrow table, each distinct value normalised once."""
        from aanlevering.pseudonym.normalise import distinct  # pyarrow only when needed

        requested = self._requested(types)
        cols, num_rows = distinct.table_columns(table)
        cache: dict[str, distinct.Derived] = {}

        def derive(part: str) -> distinct.Derived:
            if part in cache:
                return cache[part]
            if part in ("name8", "name4"):
                if "name" not in cache:
                    cache["name"] = distinct.distinct_map(
                        birth_name_letters, cols["own_name"], "own_name"
                    )
                letters, errors = cache["name"]
                length = 8 if part == "name8" else 4
                fitted, _ = distinct.distinct_map(
                    lambda v: fit(str(v), length), letters, "own_name", missing=False
                )
                cache[part] = (fitted, errors)
            elif part == "mrn" and (plain := distinct.plain_mrns(cols["mrn"])) is not None:
                cache[part] = (plain, {})
            elif part in _ROW_PARTS:
                listed: dict[str, _Derived] = {}
                self._derive(part, distinct.lists_of(cols, _ROW_PARTS[part]), listed)
                for name, derived in listed.items():
                    cache[name] = distinct.from_lists(derived)
            else:
                fn, field = _SIMPLE_PARTS[part]
                cache[part] = distinct.distinct_map(fn, cols[field], field)
            return cache[part]

        values: dict[PseudonymType, list[str | None]] = {}
        failures: list[NormalisationFailure] = []
        for type_ in requested:
            parts = [derive(part) for part in TYPE_PARTS[type_]]
            values[type_] = distinct.join_type(type_, parts, SEPARATOR, failures)
        failures.sort(key=lambda f: (f.row or 0, requested.index(f.type)))
        return CanonicalColumns(self.version, num_rows, values, tuple(failures))

    def normalise_lists(
        self, columns: ColumnsInput, types: Iterable[PseudonymType | str]
    ) -> CanonicalColumns:
        """The straightforward path: every row through the field functions as Python values.

        The reference :meth:`_normalise_table` is pinned to; tables given here
        are turned into lists first.
        """
        requested = self._requested(types)
        cols, num_rows = column_lists(columns)
        cache: dict[str, _Derived] = {}
        values: dict[PseudonymType, list[str | None]] = {}
        failures: list[NormalisationFailure] = []
        for type_ in requested:
            parts = TYPE_PARTS[type_]
            for part in parts:
                self._derive(part, cols, cache)
            part_values = [cache[p][0] for p in parts]
            part_errors = [cache[p][1] for p in parts]
            bad: set[int] = set()
            for errors in part_errors:
                bad.update(errors)
            rows = cast(Iterable[tuple[str, ...]], zip(*part_values, strict=True))
            joined: list[str | None]
            if not bad:
                joined = [SEPARATOR.join(t) for t in rows]
            else:
                joined = [None if row in bad else SEPARATOR.join(t) for row, t in enumerate(rows)]
                for row in sorted(bad):
                    seen: set[_Error] = set()
                    for errors in part_errors:
                        error = errors.get(row)
                        if error is not None and error not in seen:
                            seen.add(error)
                            failures.append(NormalisationFailure(type_, *error, row=row))
            values[type_] = joined
        failures.sort(key=lambda f: (f.row or 0, requested.index(f.type)))
        return CanonicalColumns(self.version, num_rows, values, tuple(failures))

    def normalise(
        self, person: PersonIdentifiers, types: Iterable[PseudonymType | str]
    ) -> NormalisedPerson:
        """Canonical inputs of one person; the same rules as the batch, on a batch of one."""
        batch = self.normalise_columns(
            {name: [getattr(person, name)] for name in PERSON_FIELDS}, types
        )
        canonical = {t: v[0] for t, v in batch.values.items() if v[0] is not None}
        failures = tuple(
            NormalisationFailure(f.type, f.field, f.reason, row=None) for f in batch.failures
        )
        return NormalisedPerson(self.version, canonical, failures)


#: Derived parts that come from one field through one function.
_SIMPLE_PARTS: dict[str, tuple[Callable[[object], str], str]] = {
    "bsn": (normalise_bsn, "bsn"),
    "birth_date": (normalise_birth_date, "birth_date"),
    "sex": (normalise_sex, "sex"),
    "pc6": (normalise_pc6, "postcode"),
    "pc4": (normalise_pc4, "postcode"),
}

#: Parts made row by row from two columns (by the list path's functions), and those columns.
_ROW_PARTS: dict[str, tuple[str, ...]] = {
    "initial": ("initials", "given_names"),
    "mrn": ("mrn", "patient_id"),
    "house_number": ("house_number", "house_number_addition"),
    "addition": ("house_number", "house_number_addition"),
}

#: Our own Dutch profile; the default of every registration config.
NL_PROFILE_2026_1 = DutchProfile()


def clear_caches() -> None:
    """Forget the cached field results (names, dates, postcodes, initials, sex codes).

    The caches live only in this process's memory, but they hold identifiers;
    a long-running worker can call this after each delivery run.
    """
    for cached in (
        birth_name_letters,
        first_initial,
        normalise_birth_date,
        normalise_sex,
        normalise_pc4,
        normalise_pc6,
        normalise_addition,
    ):
        cached.cache_clear()
