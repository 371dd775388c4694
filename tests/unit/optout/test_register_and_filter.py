"""The opt-out register and filter: 2027 regime, withdrawals, scopes, rules, a million rows."""

from __future__ import annotations

import time
from datetime import date

import pyarrow as pa
import pytest

from aanlevering.errors import ConfigError
from aanlevering.optout.events import OptOutsApplied
from aanlevering.optout.filter import apply_optouts, record_optouts_applied
from aanlevering.optout.register import OptOut, OptOutRegister
from aanlevering.optout.rules import OptOutRules, parse_optout_rules
from aanlevering.optout.sources import MrnHasher
from aanlevering.periods import Period
from aanlevering.pseudonym.patient_ref import PatientRefHasher

A = "pr_" + "a" * 32
B = "pr_" + "b" * 32
C = "pr_" + "c" * 32
Q1_2027 = Period.parse("2027-Q1")


def register_of(*optouts: OptOut, **rules: object) -> OptOutRegister:
    return OptOutRegister(optouts, OptOutRules(**rules))  # type: ignore[arg-type]


def test_an_optout_for_2027_leaves_2026_alone_and_removes_2027() -> None:
    register = register_of(OptOut(A, date(2027, 1, 15), True))
    delivery_day = date(2027, 4, 10)
    assert not register.is_opted_out(A, "nkr-borst", Period.parse("2026"), delivery_day)
    assert not register.is_opted_out(A, "nkr-borst", Period.parse("2026-Q4"), delivery_day)
    assert register.is_opted_out(A, "nkr-borst", Q1_2027, delivery_day)
    assert register.is_opted_out(A, "nkr-borst", Period.parse("2027"), date(2028, 1, 5))
    assert not register.is_opted_out(B, "nkr-borst", Q1_2027, delivery_day)


def test_an_optout_registered_in_2026_counts_only_once_the_regime_applies() -> None:
    register = register_of(OptOut(A, date(2026, 11, 20), True))
    assert not register.is_opted_out(A, "ldtr", Period.parse("2026-12"), date(2027, 1, 10))
    assert register.is_opted_out(A, "ldtr", Period.parse("2027-01"), date(2027, 2, 10))
    assert not register.is_opted_out(A, "ldtr", date(2026, 12, 31))
    assert register.is_opted_out(A, "ldtr", date(2027, 1, 1))


def test_a_withdrawn_optout_restores_the_patient() -> None:
    register = register_of(OptOut(A, date(2027, 1, 15), True, withdrawn_on=date(2027, 3, 1)))
    assert register.is_opted_out(A, "nkr-borst", Period.parse("2027-01"), date(2027, 2, 5))
    assert not register.is_opted_out(A, "nkr-borst", Q1_2027, date(2027, 4, 10))
    keep, excluded = apply_optouts(
        [A, B], "nkr-borst", Q1_2027, register=register, as_of=date(2027, 4, 10)
    )
    assert keep.to_pylist() == [True, True] and excluded == 0


def test_scope_limits_the_optout_to_the_named_registrations() -> None:
    register = register_of(OptOut(A, date(2027, 1, 15), False, frozenset({"nkr-borst"})))
    assert register.is_opted_out(A, "nkr-borst", Q1_2027, date(2027, 4, 1))
    assert not register.is_opted_out(A, "dica-dsaa", Q1_2027, date(2027, 4, 1))


def test_whole_period_rule_removes_a_patient_who_opted_out_after_the_period() -> None:
    register = register_of(OptOut(A, date(2027, 5, 20), True))
    assert register.is_opted_out(A, "dica-dsaa", Q1_2027, as_of=date(2027, 6, 1))
    assert not register.is_opted_out(A, "dica-dsaa", Q1_2027, as_of=date(2027, 4, 15))


def test_from_registration_date_rule_keeps_care_before_the_optout() -> None:
    register = register_of(
        OptOut(A, date(2027, 2, 10), True), registered_during_period="from-registration-date"
    )
    refs = [A, A, A, B, None]
    care = [date(2027, 1, 5), date(2027, 2, 10), None, date(2027, 3, 1), date(2027, 3, 1)]
    keep, excluded = apply_optouts(
        refs, "ldtr", Q1_2027, register=register, as_of=date(2027, 4, 2), care_dates=care
    )
    assert keep.to_pylist() == [True, False, False, True, True]
    assert excluded == 2
    # without care dates the patient is removed altogether (the privacy-safe fallback)
    keep, excluded = apply_optouts(refs, "ldtr", Q1_2027, register=register, as_of=date(2027, 4, 2))
    assert keep.to_pylist() == [False, False, False, True, True] and excluded == 3
    # an opt-out registered after the period leaves that period's care alone
    assert not register.is_opted_out(A, "ldtr", Period.parse("2027-01"), date(2027, 4, 2))


def test_filter_takes_chunked_arrays_and_counts_rows() -> None:
    register = register_of(OptOut(A, date(2027, 1, 15), True), OptOut(C, date(2027, 2, 1), True))
    refs = pa.chunked_array([[A, B], [C, None, A]])
    keep, excluded = apply_optouts(
        refs, "nkr-borst", Q1_2027, register=register, as_of=date(2027, 4, 1)
    )
    assert keep.to_pylist() == [False, True, False, True, False]
    assert excluded == 3
    table = pa.table({"ref": refs, "value": [1, 2, 3, 4, 5]})
    assert table.filter(keep).column("value").to_pylist() == [2, 4]


def test_filter_refuses_misaligned_care_dates() -> None:
    register = register_of(
        OptOut(A, date(2027, 1, 15), True), registered_during_period="from-registration-date"
    )
    with pytest.raises(ConfigError, match="2 care dates for 3 patient references"):
        apply_optouts(
            [A, B, C], "ldtr", Q1_2027, register=register, as_of=date(2027, 4, 1),
            care_dates=[date(2027, 1, 1), date(2027, 1, 2)],
        )  # fmt: skip


def test_a_million_rows_are_filtered_quickly() -> None:
    optouts = [OptOut(f"pr_{i:032x}", date(2027, 1, 2), True) for i in range(0, 20_000, 2)]
    register = register_of(*optouts)
    refs = pa.array([f"pr_{i % 50_000:032x}" for i in range(1_000_000)])
    started = time.perf_counter()
    keep, excluded = apply_optouts(refs, "ldtr", Q1_2027, register=register, as_of=date(2027, 4, 1))
    elapsed = time.perf_counter() - started
    assert excluded == 10_000 * 20  # 10,000 opted-out refs, each on 20 rows
    assert len(keep) == 1_000_000
    assert elapsed < 3.0, f"filtering a million rows took {elapsed:.2f}s"


def test_applied_event_has_counts_only_and_is_idempotent(store) -> None:
    register = register_of(OptOut(A, date(2027, 1, 15), True))
    _keep, excluded = apply_optouts(
        [A, B], "ldtr", Q1_2027, register=register, as_of=date(2027, 4, 1)
    )
    for _ in range(2):
        record_optouts_applied(
            store, "ldtr", Q1_2027, excluded_count=excluded, considered_count=2,
            register=register, as_of=date(2027, 4, 1), run_id="run-1",
        )  # fmt: skip
    (record,) = store.read_all()
    assert record.stream == "optouts-applied/ldtr"
    event = record.to_event()
    assert isinstance(event, OptOutsApplied)
    assert (event.registration, event.period, event.excluded_count) == ("ldtr", "2027-Q1", 1)
    assert A not in str(record.payload) and B not in str(record.payload)
    assert "effective_from=2027-01-01" in event.rules


def test_rules_parse_and_refuse_bad_values() -> None:
    rules = parse_optout_rules(
        {"effective_from": "2027-07-01", "registered_during_period": "from-registration-date"}
    )
    assert rules.effective_from == date(2027, 7, 1)
    assert rules.registered_during_period == "from-registration-date"
    assert parse_optout_rules({}) == OptOutRules()
    with pytest.raises(ConfigError, match="effective_from: expected a date"):
        parse_optout_rules({"effective_from": "volgend jaar"})
    with pytest.raises(ConfigError, match="registered_during_period: expected one of"):
        parse_optout_rules({"registered_during_period": "partial"})
    with pytest.raises(ConfigError, match="unknown setting"):
        parse_optout_rules({"start": "2027-01-01"})


def test_a_later_effective_date_postpones_the_regime() -> None:
    register = register_of(OptOut(A, date(2027, 1, 15), True), effective_from=date(2027, 7, 1))
    assert not register.is_opted_out(A, "ldtr", Q1_2027, date(2027, 4, 1))
    assert register.is_opted_out(A, "ldtr", Period.parse("2027"), date(2028, 1, 10))


def test_rules_come_from_the_named_file_or_the_home_directory(tmp_path) -> None:
    from aanlevering.optout.rules import load_optout_rules
    from aanlevering.settings import load_settings

    settings = load_settings({"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path)})
    assert load_optout_rules(settings, env={}) == OptOutRules()
    (tmp_path / "optout-rules.yaml").write_text("effective_from: 2027-04-01\n", encoding="utf-8")
    assert load_optout_rules(settings, env={}).effective_from == date(2027, 4, 1)
    named = tmp_path / "national.json"
    named.write_text('{"registered_during_period": "from-registration-date"}', encoding="utf-8")
    rules = load_optout_rules(settings, env={"AANLEVERING_OPTOUT_RULES": str(named)})
    assert rules == OptOutRules(registered_during_period="from-registration-date")
    with pytest.raises(ConfigError, match="cannot read"):
        load_optout_rules(settings, env={"AANLEVERING_OPTOUT_RULES": str(tmp_path / "nope.yaml")})


def test_extract_mrns_are_hashed_like_the_register_and_bad_rows_stop_the_run(
    hasher: PatientRefHasher, hash_mrn: MrnHasher
) -> None:
    from optout_support import MRNS

    from aanlevering.errors import ExtractError
    from aanlevering.optout.filter import patient_refs_for_mrns

    refs = patient_refs_for_mrns(pa.array([MRNS[0].lower(), MRNS[1]]), hasher, "patients.csv")
    assert refs.to_pylist() == [hash_mrn(MRNS[0]), hash_mrn(MRNS[1])]
    with pytest.raises(ExtractError) as error:
        patient_refs_for_mrns([MRNS[0], None, "Jan de Vries"], hasher, "patients.csv")
    assert str(error.value) == (
        "patients.csv: 2 row(s) without a usable patient number (MRN), so opt-outs can not "
        "be checked: rows 2, 3"
    )
