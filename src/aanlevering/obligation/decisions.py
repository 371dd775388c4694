"""A register decision as it arrives (feed row or manual entry), checked and turned into an event.

The feed vocabulary is deliberately flat, one word per kind of decision:

==================== =========================================================
``included``         included in the register; needs ``term_years`` or ``until``
``rejected``         negative decision; delivery stops at ``effective_from``
``objection-filed``  the registry holder objected (``decided_on`` = filing date)
``objection-upheld`` objection upheld: included, needs ``term_years`` or ``until``
``objection-dismissed`` objection dismissed: stays rejected
``withdrawn``        inclusion withdrawn from ``effective_from``
``term-expired``     inclusion term ran out on ``effective_from``
==================== =========================================================

``effective_from`` defaults to ``decided_on``. ``until`` is the first day
the inclusion no longer holds (half-open, like a period): a five-year term
from 2026-03-01 runs ``until`` 2031-03-01.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from aanlevering.errors import ConfigError
from aanlevering.obligation.events import (
    InclusionEnded,
    ObjectionDecided,
    ObjectionFiled,
    RegisterEvent,
    RegistrationIncluded,
    RegistrationRejected,
    derived_id,
)
from aanlevering.operator_text import RULE, operator_text_problem

DecisionKind = Literal[
    "included",
    "rejected",
    "objection-filed",
    "objection-upheld",
    "objection-dismissed",
    "withdrawn",
    "term-expired",
]
DECISION_KINDS: tuple[str, ...] = get_args(DecisionKind)
_INCLUDING: frozenset[str] = frozenset({"included", "objection-upheld"})
REGISTRATION_ID = re.compile(r"[a-z][a-z0-9-]{0,99}")
MAX_TERM_YEARS = 50


class InvalidDecision(ConfigError):
    """One field of a decision is wrong; ``field`` names it so callers can add file and row."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.problem = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class RegisterDecision:
    """One decision of Zorginstituut Nederland (or the objection procedure) about a registration."""

    registration: str
    kind: DecisionKind
    decided_on: date
    effective_from: date | None = None
    term_years: int | None = None
    until: date | None = None
    note: str = ""

    @property
    def effective(self) -> date:
        """The day the decision takes effect (``effective_from``, else the decision date)."""
        return self.effective_from or self.decided_on


def add_years(day: date, years: int) -> date:
    """``day`` plus whole years; 29 February becomes 1 March so the term never ends early."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def inclusion_until(decision: RegisterDecision) -> date:
    """The end (exclusive) of an inclusion, from ``until`` or ``term_years``; they must agree."""
    start = decision.effective
    by_term = None
    if decision.term_years is not None:
        if not 1 <= decision.term_years <= MAX_TERM_YEARS:
            raise InvalidDecision(
                "term_years", f"expected a whole number of years from 1 to {MAX_TERM_YEARS}"
            )
        by_term = add_years(start, decision.term_years)
    until = decision.until or by_term
    if until is None:
        raise InvalidDecision(
            "term_years", "an inclusion (included, objection-upheld) needs term_years or until"
        )
    if by_term is not None and decision.until is not None and by_term != decision.until:
        raise InvalidDecision(  # no date quoted: a typed one may be a birth date (0932)
            "until",
            "does not match term_years counted from effective_from (or decided_on); "
            "give one of them",
        )
    if until <= start:
        raise InvalidDecision("until", "must be after effective_from (or decided_on)")
    return until


def check_decision(decision: RegisterDecision) -> None:
    """Refuse decisions that can not be recorded; raises :class:`InvalidDecision`."""
    if not REGISTRATION_ID.fullmatch(decision.registration):
        raise InvalidDecision(
            "registration",
            "expected a registration id of lowercase letters, digits and '-' "
            "starting with a letter (like nkr-borst)",
        )
    if decision.kind not in DECISION_KINDS:
        raise InvalidDecision("decision", f"expected one of {', '.join(DECISION_KINDS)}")
    if decision.kind not in _INCLUDING:
        for name in ("term_years", "until"):
            if getattr(decision, name) is not None:
                raise InvalidDecision(name, f"only 'included' and 'objection-upheld' take {name}")
    problem = operator_text_problem(decision.note.strip())
    if problem is not None:  # kept in the log for good, whoever passes it (decision 0902)
        raise InvalidDecision("note", f"{problem}; {RULE}; nothing of it recorded")


def to_event(decision: RegisterDecision) -> RegisterEvent:
    """The event recording ``decision``; its id derives from registration, kind and dates."""
    check_decision(decision)
    reg, kind, decided, effective, note = (
        decision.registration,
        decision.kind,
        decision.decided_on,
        decision.effective,
        decision.note,
    )
    if kind in _INCLUDING:
        until = inclusion_until(decision)
        event_id = derived_id(reg, kind, decided, effective, until)
        if kind == "included":
            return RegistrationIncluded(
                event_id=event_id,
                registration=reg,
                decided_on=decided,
                effective_from=effective,
                until=until,
                term_years=decision.term_years,
                note=note,
            )
        return ObjectionDecided(
            event_id=event_id,
            registration=reg,
            decided_on=decided,
            outcome="upheld",
            effective_from=effective,
            until=until,
            term_years=decision.term_years,
            note=note,
        )
    event_id = derived_id(reg, kind, decided, effective)
    if kind == "rejected":
        return RegistrationRejected(
            event_id=event_id,
            registration=reg,
            decided_on=decided,
            effective_from=effective,
            note=note,
        )
    if kind == "objection-filed":
        return ObjectionFiled(event_id=event_id, registration=reg, filed_on=effective, note=note)
    if kind == "objection-dismissed":
        return ObjectionDecided(
            event_id=event_id,
            registration=reg,
            decided_on=decided,
            outcome="dismissed",
            effective_from=effective,
            note=note,
        )
    return InclusionEnded(
        event_id=event_id,
        registration=reg,
        decided_on=decided,
        ended_on=effective,
        reason="withdrawn" if kind == "withdrawn" else "term-expired",
        note=note,
    )
