"""The delivery calendar: per registration, which periods are owed, delivered, due or overdue.

Periods are calendar-aligned (month, quarter or year, as the registration's
config says) from the registration's ``start`` (by default 2026-01-01, the
Wkz's entry into force). A period is delivered after it closes.

A period is *owed* when it overlaps a stretch of inclusion. The first
inclusion reaches back to the calendar start: a registration included later
in 2026 owes every closed period since 2026-01-01 (the law's retroactive
obligation). A later inclusion after a gap (renewal after the term ran out)
owes from its own effective date.

Per period the calendar says (:class:`PeriodState`):

``delivered``  a receipted delivery exists (whatever the obligation)
``open``       owed, but the period has not closed yet
``due``        closed, owed, not delivered, within the grace
``overdue``    closed, owed, not delivered, past the grace
``lapsed``     owed while included, never delivered, and delivery is no longer
               allowed (negative decision, objection, inclusion ended)
``not-owed``   no obligation for this period (no decision yet, rejected, ...)

The grace runs from the later of the period's end and the inclusion's
effective date, so retroactive periods are not overdue on the day of
inclusion. What was delivered comes from a :class:`DeliveryLedger`; the
ledger proper is built with the delivery step, :class:`StaticLedger` serves
until then and in tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.obligation.permission import may_deliver
from aanlevering.obligation.rules import CalendarRules
from aanlevering.obligation.status import Inclusion, RegisterState, RegistrationStatus
from aanlevering.periods import Period, periods_between


class DeliveryLedger(Protocol):
    """What the calendar needs to know about past deliveries of a registration."""

    def delivered_periods(self, registration: str) -> frozenset[str]:
        """Labels (``2026-Q1``) of periods with a receipted delivery."""
        ...

    def last_receipted_on(self, registration: str) -> date | None:
        """The day of the latest receipted delivery not retracted since, None if none is."""
        ...

    def last_retracted_on(self, registration: str) -> date | None:
        """The day of the latest receipted retraction its period still stands on, or None."""
        ...


@dataclass(frozen=True)
class StaticLedger:
    """A ledger from plain values: the stand-in until the delivery ledger exists."""

    delivered: Mapping[str, frozenset[str]] = field(default_factory=dict)
    last_receipted: Mapping[str, date] = field(default_factory=dict)
    last_retracted: Mapping[str, date] = field(default_factory=dict)

    def delivered_periods(self, registration: str) -> frozenset[str]:
        """Labels of periods delivered to ``registration``."""
        return frozenset(self.delivered.get(registration, frozenset()))

    def last_receipted_on(self, registration: str) -> date | None:
        """Latest receipted delivery to ``registration``."""
        return self.last_receipted.get(registration)

    def last_retracted_on(self, registration: str) -> date | None:
        """Latest standing retraction of a delivery to ``registration``."""
        return self.last_retracted.get(registration)


class PeriodState(StrEnum):
    """Where one period of one registration stands."""

    NOT_OWED = "not-owed"
    OPEN = "open"
    DUE = "due"
    OVERDUE = "overdue"
    DELIVERED = "delivered"
    LAPSED = "lapsed"


@dataclass(frozen=True)
class CalendarEntry:
    """One period: its state, whether it is closed and owed, and the last day to deliver it."""

    period: Period
    state: PeriodState
    closed: bool
    owed: bool
    due_by: date | None
    reason: str


@dataclass(frozen=True)
class YearlyCheck:
    """The "deliver at least once a year" check: ``flagged`` when the limit is exceeded."""

    flagged: bool
    reason: str
    counting_from: date | None = None
    days: int | None = None


@dataclass(frozen=True)
class DeliveryCalendar:
    """Every period of a registration up to the one containing ``on``."""

    registration: str
    on: date
    entries: tuple[CalendarEntry, ...]
    yearly: YearlyCheck

    def in_state(self, *states: PeriodState) -> tuple[Period, ...]:
        """The periods in any of ``states``, oldest first."""
        return tuple(e.period for e in self.entries if e.state in states)

    @property
    def to_deliver(self) -> tuple[Period, ...]:
        """Closed, owed, undelivered periods (due and overdue): the backfill work list."""
        return self.in_state(PeriodState.DUE, PeriodState.OVERDUE)

    @property
    def overdue(self) -> tuple[Period, ...]:
        """Periods past their grace."""
        return self.in_state(PeriodState.OVERDUE)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in (31, 30, 29, 28):
        if day.day <= candidate:
            try:
                return date(year, month, min(day.day, candidate))
            except ValueError:
                continue
    return date(year, month, 28)


def obligation_spans(
    config: RegistrationConfig, status: RegistrationStatus | None
) -> tuple[tuple[Inclusion, date], ...]:
    """Stretches of obligation as (span used for periods, day the obligation really began).

    The first inclusion's span starts at the calendar start (retroactive); the
    second element keeps its real effective date, from which grace is counted.
    """
    if status is None:
        return ()
    spans: list[tuple[Inclusion, date]] = []
    for index, inclusion in enumerate(status.inclusions()):
        start = min(config.start, inclusion.start) if index == 0 else inclusion.start
        spans.append((Inclusion(start, inclusion.end), inclusion.start))
    return tuple(spans)


def delivery_calendar(
    config: RegistrationConfig,
    status: RegistrationStatus | None,
    ledger: DeliveryLedger,
    on: date,
    rules: CalendarRules | None = None,
) -> DeliveryCalendar:
    """The calendar of ``config``'s registration as it stands on ``on``."""
    rules = rules or CalendarRules()
    delivered = ledger.delivered_periods(config.id)
    spans = obligation_spans(config, status)
    allowed_now = may_deliver(config, status, on)
    grace = rules.grace_for(config.frequency)
    entries: list[CalendarEntry] = []
    if on >= config.start:
        for period in periods_between(config.start, on + timedelta(days=1), config.frequency):
            entries.append(
                _entry(
                    period,
                    on,
                    spans=spans,
                    delivered=delivered,
                    allowed_now=allowed_now.allowed,
                    grace_months=grace,
                    status=status,
                )
            )
    return DeliveryCalendar(
        registration=config.id,
        on=on,
        entries=tuple(entries),
        yearly=yearly_check(config, status, ledger, on, rules),
    )


def _entry(
    period: Period,
    on: date,
    *,
    spans: tuple[tuple[Inclusion, date], ...],
    delivered: frozenset[str],
    allowed_now: bool,
    grace_months: int,
    status: RegistrationStatus | None,
) -> CalendarEntry:
    closed = period.end <= on
    covering = [(span, began) for span, began in spans if span.overlaps(period.start, period.end)]
    owed = bool(covering)
    due_by = None
    if owed:
        began = covering[0][1]
        due_by = add_months(max(period.end, began), grace_months)
    if period.label in delivered:
        return CalendarEntry(period, PeriodState.DELIVERED, closed, owed, due_by, "delivered")
    if not owed:
        why = "no obligation for this period"
        if status is None or not status.history:
            why = "no register decision yet; no legal obligation"
        return CalendarEntry(period, PeriodState.NOT_OWED, closed, False, None, why)
    if not allowed_now:
        return CalendarEntry(
            period, PeriodState.LAPSED, closed, True, due_by,
            "owed while included but never delivered; delivery is no longer allowed",
        )  # fmt: skip
    if not closed:
        return CalendarEntry(
            period, PeriodState.OPEN, False, True, due_by, f"closes on {period.end}"
        )
    assert due_by is not None
    if on < due_by:
        return CalendarEntry(
            period, PeriodState.DUE, True, True, due_by, f"deliver before {due_by}"
        )
    return CalendarEntry(
        period, PeriodState.OVERDUE, True, True, due_by, f"should have been delivered by {due_by}"
    )


def yearly_check(
    config: RegistrationConfig,
    status: RegistrationStatus | None,
    ledger: DeliveryLedger,
    on: date,
    rules: CalendarRules | None = None,
) -> YearlyCheck:
    """Flag an obligation with no receipted delivery for more than the yearly limit.

    Counting starts at the later of the last receipted delivery the registry
    holder still holds (a retracted one is none, decision 0790) and the day
    the current obligation began (its real effective date, not the
    retroactive start). Only a registration included on ``on`` is checked.
    """
    rules = rules or CalendarRules()
    if status is None or status.state_on(on) is not RegisterState.INCLUDED:
        return YearlyCheck(False, "no obligation on this day")
    began = None
    for inclusion in status.inclusions():
        if inclusion.start <= on < (inclusion.end or date.max):
            began = inclusion.start
    if began is None:  # pragma: no cover - state_on and inclusions agree by construction
        return YearlyCheck(False, "no obligation on this day")
    last = ledger.last_receipted_on(config.id)
    counting_from = max(began, last) if last is not None else began
    days = (on - counting_from).days
    limit = rules.max_days_without_delivery
    what = (
        f"last receipted delivery {last}" if last and last >= began else f"obligation since {began}"
    )
    retracted = ledger.last_retracted_on(config.id)
    if retracted is not None and (last is None or retracted >= last):
        # A withdrawn delivery counts for nothing: say so, not only "obligation since" (0790).
        what += f"; last delivery retracted on {retracted}"
    if days > limit:
        return YearlyCheck(
            True, f"nothing delivered for {days} days ({what}); the law asks at least once a year",
            counting_from, days,
        )  # fmt: skip
    return YearlyCheck(False, f"{days} days since {what}", counting_from, days)
