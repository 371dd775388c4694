"""Register decisions, the delivery obligation and the delivery calendar.

Decisions of Zorginstituut Nederland arrive as a feed (:func:`read_feed`) or by
hand, and are recorded as events (:func:`record_decisions`). The status of a
registration is a projection of those events (:func:`load_status`);
:func:`may_deliver` / :func:`check_may_deliver` apply the law to it, and
:func:`delivery_calendar` says which periods are owed, due, overdue or
delivered. See ``docs/obligation.md``.
"""

from __future__ import annotations

from aanlevering.obligation.calendar import (
    CalendarEntry,
    DeliveryCalendar,
    DeliveryLedger,
    PeriodState,
    StaticLedger,
    YearlyCheck,
    delivery_calendar,
    yearly_check,
)
from aanlevering.obligation.decisions import DECISION_KINDS, RegisterDecision, to_event
from aanlevering.obligation.feed import FeedInvalid, parse_feed, read_feed
from aanlevering.obligation.permission import Decision, check_may_deliver, may_deliver
from aanlevering.obligation.rules import CalendarRules, load_calendar_rules
from aanlevering.obligation.service import IngestResult, record_decisions
from aanlevering.obligation.status import (
    RegisterState,
    RegistrationStatus,
    StatusChange,
    load_status,
    load_statuses,
    project_statuses,
)

__all__ = [
    "DECISION_KINDS",
    "CalendarEntry",
    "CalendarRules",
    "Decision",
    "DeliveryCalendar",
    "DeliveryLedger",
    "FeedInvalid",
    "IngestResult",
    "PeriodState",
    "RegisterDecision",
    "RegisterState",
    "RegistrationStatus",
    "StaticLedger",
    "StatusChange",
    "YearlyCheck",
    "check_may_deliver",
    "delivery_calendar",
    "load_calendar_rules",
    "load_status",
    "load_statuses",
    "may_deliver",
    "parse_feed",
    "project_statuses",
    "read_feed",
    "record_decisions",
    "to_event",
    "yearly_check",
]
