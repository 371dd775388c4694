"""The register status is a projection of decisions, and may_deliver applies the law to it."""

from __future__ import annotations

from datetime import date

import pytest
from obligation_support import decision, status_of

from aanlevering.errors import NoObligation
from aanlevering.obligation.decisions import InvalidDecision, RegisterDecision, to_event
from aanlevering.obligation.permission import check_may_deliver, may_deliver
from aanlevering.obligation.status import RegisterState, RegistrationStatus
from aanlevering.periods import Period


def test_before_any_decision_current_practice_decides(make_config) -> None:
    pending = RegistrationStatus("dica-dsaa")
    delivering = make_config("dica-dsaa", before_inclusion="deliver")
    waiting = make_config("dica-dsaa", before_inclusion="wait")

    assert pending.state_on(date(2026, 5, 1)) is RegisterState.PENDING
    assert may_deliver(delivering, pending, date(2026, 5, 1)).allowed
    assert "current practice" in may_deliver(delivering, pending, date(2026, 5, 1)).reason
    refused = may_deliver(waiting, pending, date(2026, 5, 1))
    assert not refused.allowed
    assert "wait" in refused.reason
    assert may_deliver(waiting, None, date(2026, 5, 1)).allowed is False


def test_included_within_term_may_deliver_and_not_after_it(make_config) -> None:
    config = make_config("nkr-borst", before_inclusion="wait")
    status = status_of(
        decision("included", date(2026, 3, 1), effective_from=date(2026, 3, 15), term_years=3)
    )

    assert not may_deliver(config, status, date(2026, 3, 14)).allowed  # before it takes effect
    allowed = may_deliver(config, status, date(2026, 3, 15))
    assert allowed.allowed
    assert "until 2029-03-15" in allowed.reason
    assert may_deliver(config, status, date(2029, 3, 14)).allowed
    after = may_deliver(config, status, date(2029, 3, 15))
    assert not after.allowed
    assert "ended on 2029-03-15" in after.reason and "term-expired" in after.reason
    assert status.state_on(date(2030, 1, 1)) is RegisterState.ENDED


def test_negative_decision_stops_delivery_from_its_date(make_config) -> None:
    config = make_config("dica-dsaa", before_inclusion="deliver")
    status = status_of(decision("rejected", date(2026, 5, 10)))

    assert may_deliver(config, status, date(2026, 5, 9)).allowed  # current practice until then
    stopped = may_deliver(config, status, date(2026, 5, 10))
    assert not stopped.allowed
    assert "negative register decision" in stopped.reason

    with pytest.raises(NoObligation) as refused:
        check_may_deliver(config, status, date(2026, 7, 2), Period.parse("2026-Q2"))
    message = str(refused.value)
    assert "registration dica-dsaa" in message and "period 2026-Q2" in message
    assert "no legal basis, delivery stopped" in message
    assert refused.value.exit_code == 3


def test_objection_keeps_delivery_stopped_until_upheld(make_config) -> None:
    config = make_config("dica-dsaa", before_inclusion="deliver")
    rejected = decision("rejected", date(2026, 4, 1))
    filed = decision("objection-filed", date(2026, 4, 20))
    upheld = decision("objection-upheld", date(2026, 7, 1), term_years=5)
    status = status_of(rejected, filed, upheld)

    during = may_deliver(config, status, date(2026, 5, 1))
    assert status.state_on(date(2026, 5, 1)) is RegisterState.IN_OBJECTION
    assert not during.allowed and "objection" in during.reason
    assert status.state_on(date(2026, 7, 1)) is RegisterState.INCLUDED
    assert may_deliver(config, status, date(2026, 7, 1)).allowed


def test_dismissed_objection_stays_rejected(make_config) -> None:
    config = make_config("dica-dsaa", before_inclusion="deliver")
    status = status_of(
        decision("rejected", date(2026, 4, 1)),
        decision("objection-filed", date(2026, 4, 20)),
        decision("objection-dismissed", date(2026, 8, 1)),
    )
    assert status.state_on(date(2026, 9, 1)) is RegisterState.REJECTED
    assert not may_deliver(config, status, date(2027, 1, 1)).allowed
    assert status.inclusions() == ()


def test_withdrawal_ends_inclusion_and_renewal_restores_it(make_config) -> None:
    config = make_config("nkr-borst")
    included = decision("included", date(2026, 3, 1), term_years=3)
    withdrawn = decision("withdrawn", date(2027, 6, 1))
    renewed = decision("included", date(2028, 1, 10), term_years=5)
    status = status_of(included, withdrawn, renewed)

    assert not may_deliver(config, status, date(2027, 6, 1)).allowed
    assert "withdrawn" in may_deliver(config, status, date(2027, 6, 1)).reason
    assert may_deliver(config, status, date(2028, 1, 10)).allowed
    spans = status.inclusions()
    assert [(s.start, s.end) for s in spans] == [
        (date(2026, 3, 1), date(2027, 6, 1)),
        (date(2028, 1, 10), date(2033, 1, 10)),
    ]


def test_projection_does_not_depend_on_ingest_order() -> None:
    decisions = (
        decision("rejected", date(2026, 4, 1)),
        decision("objection-filed", date(2026, 4, 20)),
        decision("objection-upheld", date(2026, 7, 1), term_years=5),
    )
    forward = status_of(*decisions)
    backward = status_of(*reversed(decisions))
    for day in (date(2026, 4, 5), date(2026, 5, 1), date(2026, 8, 1), date(2031, 8, 1)):
        assert forward.state_on(day) == backward.state_on(day)


def test_unclosed_or_too_early_periods_are_refused(make_config) -> None:
    config = make_config("nkr-borst", start=date(2026, 1, 1))
    status = status_of(decision("included", date(2026, 2, 1), term_years=5))
    with pytest.raises(NoObligation, match="has not closed yet"):
        check_may_deliver(config, status, date(2026, 11, 1), Period.parse("2026"))
    with pytest.raises(NoObligation, match="before the registration's start"):
        check_may_deliver(config, status, date(2026, 11, 1), Period.parse("2025"))
    assert check_may_deliver(config, status, date(2027, 1, 5), Period.parse("2026")).allowed


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"kind": "included"}, "term_years", "needs term_years or until"),
        (
            {"kind": "included", "term_years": 5, "until": date(2030, 1, 1)},
            "until",
            "does not match",
        ),
        ({"kind": "included", "term_years": 0}, "term_years", "from 1 to"),
        ({"kind": "rejected", "term_years": 5}, "term_years", "only 'included'"),
        ({"kind": "included", "until": date(2025, 1, 1)}, "until", "must be after"),
        (
            {"kind": "included", "term_years": 3, "registration": "NKR Borst"},
            "registration",
            "lowercase",
        ),
    ],
)
def test_invalid_decisions_name_the_field(changes: dict, field: str, text: str) -> None:
    base = {"registration": "nkr-borst", "decided_on": date(2026, 3, 1)}
    with pytest.raises(InvalidDecision) as problem:
        to_event(RegisterDecision(**(base | changes)))
    assert problem.value.field == field
    assert text in str(problem.value)


def test_term_years_and_matching_until_agree_and_leap_days_round_up() -> None:
    event = to_event(decision("included", date(2028, 2, 29), term_years=1, until=date(2029, 3, 1)))
    assert event.until == date(2029, 3, 1)  # type: ignore[union-attr]


def test_event_ids_are_derived_from_registration_kind_and_dates() -> None:
    first = to_event(decision("included", date(2026, 3, 1), term_years=5, note="zaak 1"))
    again = to_event(decision("included", date(2026, 3, 1), term_years=5, note="zaak 1"))
    other = to_event(decision("included", date(2026, 3, 2), term_years=5, note="zaak 1"))
    assert first.event_id == again.event_id
    assert first.event_id != other.event_id
