"""The delivery calendar: retroactive obligation, grace, overdue and the yearly check."""

from __future__ import annotations

from datetime import date

import pytest
from obligation_support import decision, status_of

from aanlevering.errors import ConfigError
from aanlevering.obligation.calendar import PeriodState, StaticLedger, add_months, delivery_calendar
from aanlevering.obligation.rules import CalendarRules, parse_calendar_rules
from aanlevering.obligation.status import RegistrationStatus
from aanlevering.periods import Period

NOTHING = StaticLedger()


def states(calendar) -> dict[str, PeriodState]:
    return {entry.period.label: entry.state for entry in calendar.entries}


def test_included_later_in_2026_owes_every_closed_period_since_january(make_config) -> None:
    config = make_config("dica-dsaa", frequency="quarter", before_inclusion="wait")
    status = status_of(
        decision("included", date(2026, 9, 15), registration="dica-dsaa", term_years=5)
    )

    calendar = delivery_calendar(config, status, NOTHING, date(2026, 10, 10))

    assert states(calendar) == {
        "2026-Q1": PeriodState.DUE,
        "2026-Q2": PeriodState.DUE,
        "2026-Q3": PeriodState.DUE,
        "2026-Q4": PeriodState.OPEN,
    }
    assert [p.label for p in calendar.to_deliver] == ["2026-Q1", "2026-Q2", "2026-Q3"]
    due_by = {e.period.label: e.due_by for e in calendar.entries}
    # Grace runs from the inclusion for retroactive periods, from the period's end otherwise.
    assert due_by["2026-Q1"] == date(2026, 10, 15)
    assert due_by["2026-Q3"] == date(2026, 11, 1)
    assert due_by["2026-Q4"] == date(2027, 2, 1)


def test_retroactive_periods_become_overdue_after_the_grace(make_config) -> None:
    config = make_config("dica-dsaa", frequency="quarter")
    status = status_of(
        decision("included", date(2026, 9, 15), registration="dica-dsaa", term_years=5)
    )
    ledger = StaticLedger({"dica-dsaa": frozenset({"2026-Q1"})})

    calendar = delivery_calendar(config, status, ledger, date(2026, 10, 20))

    assert states(calendar)["2026-Q1"] is PeriodState.DELIVERED
    assert states(calendar)["2026-Q2"] is PeriodState.OVERDUE  # due by 2026-10-15
    assert states(calendar)["2026-Q3"] is PeriodState.DUE  # due by 2026-11-01
    assert [p.label for p in calendar.overdue] == ["2026-Q2"]


def test_yearly_period_is_due_within_grace_and_overdue_after(make_config) -> None:
    config = make_config("nkr-borst", frequency="year")
    status = status_of(decision("included", date(2026, 3, 1), term_years=5))

    before = delivery_calendar(config, status, NOTHING, date(2027, 3, 31))
    after = delivery_calendar(config, status, NOTHING, date(2027, 4, 1))
    custom = delivery_calendar(
        config,
        status,
        NOTHING,
        date(2027, 2, 1),
        CalendarRules(grace_months={"month": 1, "quarter": 1, "year": 1}),
    )

    assert states(before)["2026"] is PeriodState.DUE
    assert states(after)["2026"] is PeriodState.OVERDUE
    assert states(custom)["2026"] is PeriodState.OVERDUE
    assert states(before)["2027"] is PeriodState.OPEN


def test_no_decision_means_nothing_owed_even_when_delivering_by_practice(make_config) -> None:
    config = make_config("ldtr", frequency="month", before_inclusion="deliver")
    calendar = delivery_calendar(config, RegistrationStatus("ldtr"), NOTHING, date(2026, 6, 15))
    assert set(states(calendar).values()) == {PeriodState.NOT_OWED}
    assert len(calendar.entries) == 6  # 2026-01 .. 2026-06, the current one included
    assert not calendar.yearly.flagged


def test_periods_before_the_registrations_own_start_are_not_listed(make_config) -> None:
    config = make_config("nkr-borst", frequency="quarter", start=date(2026, 4, 1))
    status = status_of(decision("included", date(2026, 8, 1), term_years=3))
    calendar = delivery_calendar(config, status, NOTHING, date(2026, 8, 20))
    assert list(states(calendar)) == ["2026-Q2", "2026-Q3"]
    assert states(calendar)["2026-Q2"] is PeriodState.DUE


def test_rejected_registration_owes_nothing(make_config) -> None:
    config = make_config("dica-dsaa", frequency="quarter", before_inclusion="deliver")
    status = status_of(decision("rejected", date(2026, 5, 10), registration="dica-dsaa"))
    calendar = delivery_calendar(config, status, NOTHING, date(2026, 12, 1))
    assert set(states(calendar).values()) == {PeriodState.NOT_OWED}
    assert calendar.to_deliver == ()


def test_owed_periods_lapse_when_delivery_is_no_longer_allowed(make_config) -> None:
    config = make_config("dica-dsaa", frequency="quarter")
    status = status_of(
        decision("included", date(2026, 2, 1), registration="dica-dsaa", term_years=5),
        decision("withdrawn", date(2026, 8, 1), registration="dica-dsaa"),
    )
    ledger = StaticLedger({"dica-dsaa": frozenset({"2026-Q1"})})
    calendar = delivery_calendar(config, status, ledger, date(2026, 11, 1))
    assert states(calendar) == {
        "2026-Q1": PeriodState.DELIVERED,
        "2026-Q2": PeriodState.LAPSED,
        "2026-Q3": PeriodState.LAPSED,  # overlaps July, while still included
        "2026-Q4": PeriodState.NOT_OWED,
    }


def test_renewal_after_a_gap_owes_from_its_own_date_not_retroactively(make_config) -> None:
    config = make_config("nkr-borst", frequency="year")
    status = status_of(
        decision("included", date(2026, 1, 1), until=date(2028, 1, 1)),
        decision("included", date(2029, 6, 1), term_years=3),
    )
    calendar = delivery_calendar(
        config, status, StaticLedger({"nkr-borst": frozenset({"2026", "2027"})}), date(2030, 2, 1)
    )
    assert states(calendar) == {
        "2026": PeriodState.DELIVERED,
        "2027": PeriodState.DELIVERED,
        "2028": PeriodState.NOT_OWED,
        "2029": PeriodState.DUE,
        "2030": PeriodState.OPEN,
    }


def test_nothing_delivered_for_more_than_a_year_is_flagged(make_config) -> None:
    config = make_config("nkr-borst", frequency="year")
    status = status_of(decision("included", date(2026, 3, 1), term_years=5))

    on_day_365 = delivery_calendar(config, status, NOTHING, date(2027, 3, 1)).yearly
    on_day_366 = delivery_calendar(config, status, NOTHING, date(2027, 3, 2)).yearly
    assert not on_day_365.flagged and on_day_365.days == 365
    assert on_day_366.flagged
    assert "obligation since 2026-03-01" in on_day_366.reason

    delivered = StaticLedger(last_receipted={"nkr-borst": date(2027, 2, 10)})
    assert not delivery_calendar(config, status, delivered, date(2028, 2, 10)).yearly.flagged
    late = delivery_calendar(config, status, delivered, date(2028, 2, 11)).yearly
    assert late.flagged and late.counting_from == date(2027, 2, 10)
    assert "last receipted delivery 2027-02-10" in late.reason


def test_delivery_before_inclusion_does_not_reset_the_yearly_clock(make_config) -> None:
    config = make_config("dica-dsaa", frequency="quarter", before_inclusion="deliver")
    status = status_of(
        decision("included", date(2026, 6, 1), registration="dica-dsaa", term_years=5)
    )
    ledger = StaticLedger(last_receipted={"dica-dsaa": date(2026, 2, 1)})
    check = delivery_calendar(config, status, ledger, date(2027, 6, 2)).yearly
    assert check.flagged and check.counting_from == date(2026, 6, 1)


def test_yearly_check_is_silent_without_an_obligation(make_config) -> None:
    config = make_config("nkr-borst")
    status = status_of(decision("rejected", date(2026, 3, 1)))
    assert not delivery_calendar(config, status, NOTHING, date(2028, 1, 1)).yearly.flagged


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert add_months(Period.parse("2026-Q4").end, 1) == date(2027, 2, 1)


def test_calendar_rules_parse_and_refuse_bad_values() -> None:
    rules = parse_calendar_rules({"grace_months": {"year": 6}, "max_days_without_delivery": 400})
    assert rules.grace_for("year") == 6 and rules.grace_for("month") == 1
    assert rules.max_days_without_delivery == 400
    with pytest.raises(ConfigError, match=r"grace_months\.week"):
        parse_calendar_rules({"grace_months": {"week": 1}})
    with pytest.raises(ConfigError, match="max_days_without_delivery"):
        parse_calendar_rules({"max_days_without_delivery": "a year"})
    with pytest.raises(ConfigError, match="unknown setting"):
        parse_calendar_rules({"grace": 1})


def test_calendar_rules_come_from_the_named_file_or_the_home_directory(tmp_path) -> None:
    from aanlevering.obligation.rules import load_calendar_rules
    from aanlevering.settings import load_settings

    settings = load_settings({"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path)})
    assert load_calendar_rules(settings, env={}) == CalendarRules()
    (tmp_path / "obligation-rules.yaml").write_text("grace_months: {quarter: 2}\n")
    assert load_calendar_rules(settings, env={}).grace_for("quarter") == 2
    named = tmp_path / "rules.json"
    named.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_calendar_rules(settings, env={"AANLEVERING_OBLIGATION_RULES": str(named)})
