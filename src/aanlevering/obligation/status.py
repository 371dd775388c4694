"""Register status as a projection of the register events: what holds for a registration, when.

The status is a timeline, not a single flag, because the questions asked of
it are about dates: may we deliver *today*, which periods were we obliged to
deliver *back then*. Each decision starts a :class:`StatusChange` on its
effective date; the change in force on a day is the last one that started on
or before it (ties: the later decision, then the later log position), so a
feed ingested out of order projects the same status. An inclusion whose term
has run out without a later decision reads as ``ended`` from its ``until``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from aanlevering.events.model import RecordedEvent
from aanlevering.events.store import EventStore
from aanlevering.obligation.events import (
    REGISTER_EVENT_TYPES,
    InclusionEnded,
    ObjectionDecided,
    ObjectionFiled,
    RegistrationIncluded,
    RegistrationRejected,
    stream_name,
)

log = logging.getLogger(__name__)


class RegisterState(StrEnum):
    """Where a registration stands in the register on a given day."""

    PENDING = "pending"
    INCLUDED = "included"
    REJECTED = "rejected"
    IN_OBJECTION = "in-objection"
    ENDED = "ended"


@dataclass(frozen=True)
class StatusChange:
    """From ``since`` on, the registration is in ``state`` (until the next change).

    ``until`` is the end of an inclusion's term (exclusive); ``source`` is the
    decision kind that caused the change (``included``, ``objection-upheld``,
    ``term-expired`` ...).
    """

    since: date
    state: RegisterState
    source: str
    decided_on: date
    until: date | None = None
    note: str = ""
    position: int = 0

    def describe(self) -> str:
        """One line for people: state, since when, and why."""
        text = f"{self.state} since {self.since} ({self.source}, decided {self.decided_on})"
        if self.state is RegisterState.INCLUDED and self.until is not None:
            text += f", term until {self.until}"
        return text


@dataclass(frozen=True)
class Inclusion:
    """One stretch of time with an obligation: ``[start, end)``, ``end`` None when open."""

    start: date
    end: date | None

    def overlaps(self, first: date, end: date) -> bool:
        """Whether ``[first, end)`` shares at least one day with this inclusion."""
        return first < (self.end or date.max) and end > self.start


@dataclass(frozen=True)
class RegistrationStatus:
    """Every decision about one registration, ordered, with questions about any day."""

    registration: str
    history: tuple[StatusChange, ...] = ()

    def change_on(self, day: date) -> StatusChange | None:
        """The change in force on ``day``; None while no decision has taken effect."""
        current: StatusChange | None = None
        for change in self.history:
            if change.since > day:
                break
            current = change
        if (
            current is not None
            and current.state is RegisterState.INCLUDED
            and current.until is not None
            and current.until <= day
        ):
            return self._expired(current)
        return current

    def state_on(self, day: date) -> RegisterState:
        """The register state on ``day`` (``pending`` before any decision took effect)."""
        change = self.change_on(day)
        return RegisterState.PENDING if change is None else change.state

    def timeline(self) -> tuple[StatusChange, ...]:
        """The history with the implicit ends of expired terms added, for display."""
        out: list[StatusChange] = []
        for index, change in enumerate(self.history):
            out.append(change)
            following = self.history[index + 1].since if index + 1 < len(self.history) else None
            if (
                change.state is RegisterState.INCLUDED
                and change.until is not None
                and (following is None or change.until < following)
            ):
                out.append(self._expired(change))
        return tuple(out)

    def inclusions(self) -> tuple[Inclusion, ...]:
        """The stretches of time the registration was (or is) included, in order."""
        spans: list[Inclusion] = []
        for index, change in enumerate(self.history):
            if change.state is not RegisterState.INCLUDED:
                continue
            following = self.history[index + 1].since if index + 1 < len(self.history) else None
            ends = [d for d in (change.until, following) if d is not None]
            end = min(ends) if ends else None
            if end is not None and end <= change.since:
                continue
            if spans and spans[-1].end == change.since:
                spans[-1] = Inclusion(spans[-1].start, end)  # renewal: one continuous stretch
            else:
                spans.append(Inclusion(change.since, end))
        return tuple(spans)

    @staticmethod
    def _expired(change: StatusChange) -> StatusChange:
        assert change.until is not None
        return replace(
            change,
            since=change.until,
            state=RegisterState.ENDED,
            source="term-expired",
            decided_on=change.decided_on,
            until=None,
        )


def _change(record: RecordedEvent) -> tuple[str, StatusChange] | None:  # noqa: PLR0911 - one per kind
    event = record.to_event()
    pos = record.position
    match event:
        case RegistrationIncluded():
            return event.registration, StatusChange(
                event.effective_from, RegisterState.INCLUDED, "included",
                event.decided_on, event.until, event.note, pos,
            )  # fmt: skip
        case RegistrationRejected():
            return event.registration, StatusChange(
                event.effective_from, RegisterState.REJECTED, "rejected",
                event.decided_on, None, event.note, pos,
            )  # fmt: skip
        case ObjectionFiled():
            return event.registration, StatusChange(
                event.filed_on, RegisterState.IN_OBJECTION, "objection-filed",
                event.filed_on, None, event.note, pos,
            )  # fmt: skip
        case ObjectionDecided(outcome="upheld"):
            return event.registration, StatusChange(
                event.effective_from, RegisterState.INCLUDED, "objection-upheld",
                event.decided_on, event.until, event.note, pos,
            )  # fmt: skip
        case ObjectionDecided():
            return event.registration, StatusChange(
                event.effective_from, RegisterState.REJECTED, "objection-dismissed",
                event.decided_on, None, event.note, pos,
            )  # fmt: skip
        case InclusionEnded():
            return event.registration, StatusChange(
                event.ended_on, RegisterState.ENDED, event.reason,
                event.decided_on, None, event.note, pos,
            )  # fmt: skip
    return None


def project_statuses(records: Iterable[RecordedEvent]) -> dict[str, RegistrationStatus]:
    """Fold register events (any order; other types ignored) into a status per registration."""
    changes: dict[str, list[StatusChange]] = {}
    for record in records:
        if record.event_type not in REGISTER_EVENT_TYPES:
            continue
        found = _change(record)
        if found is not None:
            changes.setdefault(found[0], []).append(found[1])
    return {
        registration: RegistrationStatus(
            registration,
            tuple(sorted(items, key=lambda c: (c.since, c.decided_on, c.position))),
        )
        for registration, items in sorted(changes.items())
    }


def load_status(store: EventStore, registration: str) -> RegistrationStatus:
    """The status of one registration, read from its own stream (cheap: one stream)."""
    statuses = project_statuses(store.read_stream(stream_name(registration)))
    return statuses.get(registration, RegistrationStatus(registration))


def load_statuses(store: EventStore) -> dict[str, RegistrationStatus]:
    """The status of every registration the log has decisions about."""
    statuses = project_statuses(store.read_types(REGISTER_EVENT_TYPES))
    log.debug("projected register status of %d registration(s)", len(statuses))
    return statuses
