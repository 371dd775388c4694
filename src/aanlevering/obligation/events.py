"""Facts about register decisions: what Zorginstituut Nederland decided, per registration.

Each registration has its own stream, ``register-<registration id>``. The
events say nothing about patients; they carry only the registration, the
dates of the decision and a free-text note (a case number, say).

Event ids are derived (uuid5) from the registration, the kind of decision
and its dates, so ingesting the same feed twice appends nothing new: the
second time every id is already in the stream.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Literal

from aanlevering.events.model import DomainEvent

STREAM_PREFIX = "register-"

#: Namespace of the derived ids of register events (a fixed, random uuid4).
ID_NAMESPACE = uuid.UUID("6f0d3f5e-5d0b-4a31-9a53-0c7c31b5d0a2")

EndReason = Literal["term-expired", "withdrawn"]
ObjectionOutcome = Literal["upheld", "dismissed"]


def stream_name(registration: str) -> str:
    """The stream holding every register decision about ``registration``."""
    return f"{STREAM_PREFIX}{registration}"


def derived_id(registration: str, kind: str, *parts: object) -> uuid.UUID:
    """A stable event id: the same decision always gets the same id (idempotent ingest)."""
    text = "|".join([registration, kind, *("" if p is None else str(p) for p in parts)])
    return uuid.uuid5(ID_NAMESPACE, text)


@dataclass(frozen=True)
class RegistrationIncluded(DomainEvent):
    """The registration was included in the register: delivery is obliged from ``effective_from``.

    ``until`` is the first day the inclusion no longer holds (half-open, like
    a period); ``term_years`` is kept when the decision stated a term.
    """

    event_type: ClassVar[str] = "obligation.RegistrationIncluded"

    registration: str
    decided_on: date
    effective_from: date
    until: date
    term_years: int | None = None
    note: str = ""


@dataclass(frozen=True)
class RegistrationRejected(DomainEvent):
    """A negative decision: no legal basis, delivery stops from ``effective_from`` (immediately)."""

    event_type: ClassVar[str] = "obligation.RegistrationRejected"

    registration: str
    decided_on: date
    effective_from: date
    note: str = ""


@dataclass(frozen=True)
class ObjectionFiled(DomainEvent):
    """The registry holder objected to a negative decision; delivery stays stopped meanwhile."""

    event_type: ClassVar[str] = "obligation.ObjectionFiled"

    registration: str
    filed_on: date
    note: str = ""


@dataclass(frozen=True)
class ObjectionDecided(DomainEvent):
    """The objection was decided: ``upheld`` includes the registration, ``dismissed`` does not.

    For an upheld objection ``effective_from`` and ``until`` describe the
    inclusion exactly as for :class:`RegistrationIncluded`.
    """

    event_type: ClassVar[str] = "obligation.ObjectionDecided"

    registration: str
    decided_on: date
    outcome: ObjectionOutcome
    effective_from: date
    until: date | None = None
    term_years: int | None = None
    note: str = ""


@dataclass(frozen=True)
class InclusionEnded(DomainEvent):
    """The inclusion ended on ``ended_on`` (its term expired, or it was withdrawn)."""

    event_type: ClassVar[str] = "obligation.InclusionEnded"

    registration: str
    decided_on: date
    ended_on: date
    reason: EndReason
    note: str = ""


#: The stream recording each read of the decision feed (decision 0643).
FEED_READS_STREAM = "register-feed-reads"


@dataclass(frozen=True)
class RegisterFeedRead(DomainEvent):
    """The decision feed was read whole and recorded: the register is current as of then.

    Not a decision (not in :data:`REGISTER_EVENT_TYPES`); a run asks when the
    newest one was recorded (decision 0643). Counts only.
    """

    event_type: ClassVar[str] = "obligation.RegisterFeedRead"

    decisions: int


RegisterEvent = (
    RegistrationIncluded | RegistrationRejected | ObjectionFiled | ObjectionDecided | InclusionEnded
)

REGISTER_EVENT_TYPES: frozenset[str] = frozenset(
    cls.event_type
    for cls in (
        RegistrationIncluded,
        RegistrationRejected,
        ObjectionFiled,
        ObjectionDecided,
        InclusionEnded,
    )
)
