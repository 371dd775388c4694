"""Read opt-outs from the EHR's CSV extract (semicolon-separated, as Dutch EHR exports are).

Columns (header names case-insensitive; English aliases accepted):

=================== ================================ =============================
column              alias                            value
=================== ================================ =============================
``patientnummer``   ``mrn``                          the hospital's patient number
``datum_registratie`` ``registered_on``              date the opt-out was registered
``scope``           ``reikwijdte``                   ``all`` or ids split by ``|``/``,``
``datum_intrekking`` ``withdrawn_on`` (optional)     date it was withdrawn, or empty
=================== ================================ =============================

Dates as ``31-12-2026`` or ``2026-12-31``. Encoding UTF-8 (with or without
BOM), else Windows-1252. The separator is ``;`` unless the header has none
(then ``,``, and a scope list must be quoted).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path

from aanlevering.errors import ConfigError
from aanlevering.optout.sources import (
    MrnHasher,
    OptOutEntry,
    OptOutSourceInvalid,
    ReadResult,
    RowProblem,
    parse_scope,
    patient_ref_of,
)

COLUMNS: Mapping[str, tuple[str, ...]] = {
    "patient": ("patientnummer", "patient_nummer", "patientnr", "mrn", "patient_number"),
    "registered": ("datum_registratie", "registratiedatum", "registered_on", "date_registered"),
    "scope": ("scope", "reikwijdte"),
    "withdrawn": ("datum_intrekking", "intrekkingsdatum", "withdrawn_on", "date_withdrawn"),
}
_REQUIRED = ("patient", "registered", "scope")
_DUTCH = re.compile(r"(\d{1,2})[-/](\d{1,2})[-/](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_day(text: str, column: str) -> date | None:
    """``31-12-2026``, ``31/12/2026`` or ``2026-12-31``; empty gives None."""
    value = text.strip()
    if not value:
        return None
    try:
        if match := _DUTCH.fullmatch(value):
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        if match := _ISO.fullmatch(value):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        pass
    raise RowProblem(column, "expected a date like 31-12-2026 or 2026-12-31")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict")


def read_optout_csv(
    path: Path, hash_mrn: MrnHasher, known: frozenset[str] | None = None
) -> ReadResult:
    """Every opt-out in the CSV extract at ``path``; :class:`OptOutSourceInvalid` lists bad rows.

    ``known``: the catalogue's registration ids a scope may name (decision 0732).
    """
    try:
        text = _decode(path.read_bytes())
    except OSError as error:
        raise ConfigError(f"opt-out extract {path}: cannot read: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"opt-out extract {path}: neither UTF-8 nor Windows-1252") from error
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if ";" in first or "," not in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lower().replace(" ", "_") for name in next(reader, [])]
    where: dict[str, int] = {}
    for role, names in COLUMNS.items():
        for index, name in enumerate(header):
            if name in names:
                where[role] = index
    missing = [COLUMNS[role][0] for role in _REQUIRED if role not in where]
    if missing:
        raise OptOutSourceInvalid(
            str(path),
            [f"line 1: missing column(s) {', '.join(missing)} (separator {delimiter!r})"],
        )
    name_of = {role: header[index] for role, index in where.items()}
    entries: list[OptOutEntry] = []
    problems: list[str] = []
    for line, values in _records(reader):
        if isinstance(values, str):  # the csv module could not read on (decision 0683)
            problems.append(f"line {line}: {values}")
            break
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            problems.append(
                f"line {line}: expected {len(header)} fields separated by {delimiter!r}, "
                f"found {len(values)}"
            )
            continue
        try:
            entries.append(_entry(values, where, name_of, hash_mrn, known))
        except RowProblem as problem:
            problems.append(f"line {line}, column {problem.column}: {problem.expected}")
    if problems:
        raise OptOutSourceInvalid(str(path), problems)
    return ReadResult(tuple(entries))


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str] | str]]:
    """(line, values) of each record; where the csv module can not read on, (line, why).

    Why: ``csv.Error`` (a quote left open swallows the rest of the file into one
    field, past the module's field limit) escaped as an internal error, exit 4 "a
    bug" (decision 0683). Its text names characters and limits, never a value.
    """
    line = 0
    try:
        for values in reader:
            line = reader.line_num  # type: ignore[attr-defined]
            yield line, values
    except csv.Error as error:
        yield line + 1, f"the record cannot be read as CSV ({error}); is a quote left open?"


def _entry(
    values: list[str],
    where: dict[str, int],
    name_of: dict[str, str],
    hash_mrn: MrnHasher,
    known: frozenset[str] | None = None,
) -> OptOutEntry:
    registered = parse_day(values[where["registered"]], name_of["registered"])
    if registered is None:
        raise RowProblem(name_of["registered"], "the registration date is required")
    all_registrations, registrations = parse_scope(values[where["scope"]], name_of["scope"], known)
    withdrawn = None
    if "withdrawn" in where:
        withdrawn = parse_day(values[where["withdrawn"]], name_of["withdrawn"])
        if withdrawn is not None and withdrawn < registered:
            raise RowProblem(name_of["withdrawn"], "the withdrawal date is before the registration")
    ref = patient_ref_of(hash_mrn, values[where["patient"]], name_of["patient"])
    return OptOutEntry(ref, registered, all_registrations, registrations, withdrawn, "ehr-csv")
