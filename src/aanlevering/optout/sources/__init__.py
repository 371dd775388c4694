"""Readers of opt-outs from the EHR: a CSV extract and FHIR ``Consent`` NDJSON.

Both hash the patient number (MRN) into a patient reference while reading,
so nothing after the reader sees an MRN, and both report every bad row with
the file, row and column, never the value.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from aanlevering.errors import ConfigError, PseudonymisationError
from aanlevering.optout.events import OptOutSource
from aanlevering.pseudonym.normalise.failures import FieldInvalid
from aanlevering.pseudonym.patient_ref import PatientRefHasher

REGISTRATION_ID = re.compile(r"[a-z][a-z0-9-]{0,99}")
_MAX_LISTED = 50

MrnHasher = Callable[[str], str]


@dataclass(frozen=True)
class OptOutEntry:
    """One opt-out as read from a source, the patient already reduced to a reference."""

    patient_ref: str
    registered_on: date
    all_registrations: bool
    registrations: frozenset[str] = frozenset()
    withdrawn_on: date | None = None
    source: OptOutSource = "ehr-csv"


@dataclass(frozen=True)
class ReadResult:
    """The opt-outs of a source, and what was skipped on purpose (by reason, counts only)."""

    entries: tuple[OptOutEntry, ...]
    skipped: Counter[str] = field(default_factory=Counter)


class OptOutSourceInvalid(ConfigError):
    """The source has bad rows; ``problems`` lists every one (file, row, column; no values)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"  - {p}" for p in problems[:_MAX_LISTED])
        more = (
            f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        )
        super().__init__(
            f"{len(problems)} problem(s) in the opt-out source {source}:\n{listed}{more}"
        )


class RowProblem(Exception):
    """One problem in one row, named by column; collected by the readers."""

    def __init__(self, column: str, expected: str) -> None:
        super().__init__(f"{column}: {expected}")
        self.column = column
        self.expected = expected


def mrn_hasher(hasher: PatientRefHasher) -> MrnHasher:
    """Patient reference of a patient number: the same call the pipeline makes for extract rows.

    The MRN is checked (letters, digits and ``- . / _``, at most 64) before it
    is hashed, so a shifted column (a name, a date) is caught instead of hashed.
    """

    return hasher.mrn_ref


def patient_ref_of(hash_mrn: MrnHasher, value: object, column: str) -> str:
    """Hash one patient number or raise :class:`RowProblem` (without the value)."""
    if not isinstance(value, str) or not value.strip():
        raise RowProblem(column, "a patient number (MRN) is required")
    try:
        return hash_mrn(value)
    except (FieldInvalid, PseudonymisationError):
        raise RowProblem(
            column, "expected a patient number (MRN): letters, digits and - . / _, at most 64"
        ) from None


def parse_scope(
    text: str, column: str, known: frozenset[str] | None = None
) -> tuple[bool, frozenset[str]]:
    """``all`` (or ``alle``, ``*``) or registration ids separated by ``|`` or ``,``.

    ``known``: the catalogue's registration ids; an id not among them is refused
    (decision 0732), without quoting it: a scope column that holds something else
    (a surname, a patient number) must not reach the event log or ``optout list``,
    and a misspelt id would be an objection that never applies to any delivery.
    """
    cleaned = text.strip().lower()
    if cleaned in {"all", "alle", "*"}:
        return True, frozenset()
    ids = [part.strip() for part in re.split(r"[|,]", cleaned) if part.strip()]
    if not ids or not all(REGISTRATION_ID.fullmatch(i) for i in ids):
        raise RowProblem(column, "expected 'all' or registration ids separated by '|' or ','")
    if known is not None and not set(ids) <= known:
        raise RowProblem(
            column,
            "not a registration of the catalogue (the value is not shown: it may be patient "
            f"data); expected 'all' or ids of {', '.join(sorted(known)) or 'none'}",
        )
    return False, frozenset(ids)
