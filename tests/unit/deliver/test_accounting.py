"""The thresholds that block a run that loses records, and the accounting's round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.deliver.accounting import Accounting, TypeFailures, check_thresholds
from aanlevering.deliver.events import DeliveryStaged, delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import ValidationBlocked
from aanlevering.events.factory import open_event_store


def _accounting(**changes: object) -> Accounting:
    values: dict[str, object] = {
        "records_read": 120,
        "excluded_optout": 10,
        "patients": 100,
        "failed": (
            TypeFailures("NGGV", 5, {"own_name: missing": 4, "birth_date: lies in the future": 1}),
            TypeFailures("C", 2, {"postcode: missing": 2}),
        ),
        "without_pseudonym": 0,
        "dropped": 0,
        "delivered": 110,
    }
    values.update(changes)
    return Accounting(**values)  # type: ignore[arg-type]


def test_a_share_at_the_threshold_passes_and_above_it_blocks_naming_type_count_reason() -> None:
    check_thresholds(_accounting(), max_share=0.05, registration="r", period="2026")

    failed = (TypeFailures("NGGV", 6, {"own_name: missing": 6}),)
    with pytest.raises(ValidationBlocked) as blocked:
        check_thresholds(
            _accounting(failed=failed), max_share=0.05, registration="r", period="2026"
        )
    message = str(blocked.value)
    assert "NGGV: 6 of 100 patients (6.0%) without it, mostly own_name: missing (6)" in message
    assert "max_unpseudonymised_share 5.0%" in message and blocked.value.exit_code == 1


def test_zero_records_left_from_a_non_empty_extract_is_always_blocked() -> None:
    everything_dropped = _accounting(excluded_optout=20, dropped=100, delivered=0, failed=())
    with pytest.raises(ValidationBlocked, match="no record left to deliver from 120 read"):
        check_thresholds(everything_dropped, max_share=1.0, registration="r", period="2026")
    all_opted_out = _accounting(excluded_optout=120, patients=0, failed=(), delivered=0)
    with pytest.raises(ValidationBlocked, match="120 excluded by opt-out"):
        check_thresholds(all_opted_out, max_share=1.0, registration="r", period="2026")
    empty = Accounting()  # an empty period delivered on purpose (empty_period: deliver)
    check_thresholds(empty, max_share=0.05, registration="r", period="2026")


def test_the_summary_round_trips_and_reads_for_people() -> None:
    accounting = _accounting()
    assert Accounting.from_summary(accounting.as_summary()) == accounting
    assert accounting.describe() == (
        "in the source 120: outside the period 0 before, 0 after, orphans 0; "
        "read 120, excluded by opt-out 10, patients 100, without a pseudonym type: NGGV 5, C 2, "
        "without any pseudonym 0, dropped 0, delivered 110"
    )
    lost = _accounting(without_pseudonym=2, dropped=3, delivered=107)
    assert lost.as_summary()["without_pseudonym"] == 2
    assert Accounting.from_summary(lost.as_summary()) == lost
    assert "without any pseudonym 2, dropped 3" in lost.describe()
    placed = _accounting(outside_before=4, outside_after=6, orphans=1, moved_from={"2026-Q1": 3})
    assert placed.as_summary()["records_in_source"] == 131
    assert Accounting.from_summary(placed.as_summary()) == placed
    assert placed.describe().startswith(
        "in the source 131: outside the period 4 before, 6 after, orphans 1; read 120"
    )
    assert placed.describe().endswith("delivered 110, moved from 2026-Q1 3")


def test_the_deliveries_page_shows_the_counts_of_a_version() -> None:
    from aanlevering.airflow.deliveries_page import _accounting as cell

    assert cell({"accounting": _accounting().as_summary()}) == (
        "outside the period 0 before, 0 after, orphans 0; "
        "read 120; without a type: NGGV 5, C 2; dropped 0; delivered 110"
    )
    placed = _accounting(outside_before=4, outside_after=6, orphans=1, moved_from={"2026-Q1": 3})
    assert cell({"accounting": placed.as_summary()}) == (
        "outside the period 4 before, 6 after, orphans 1; "
        "read 120; without a type: NGGV 5, C 2; dropped 0; delivered 110 (moved: 3 from 2026-Q1)"
    )
    older = {k: v for k, v in _accounting().as_summary().items() if k != "records_in_source"}
    assert cell({"accounting": older}).startswith("read 120;")  # a version before 0466
    assert cell({"accounting": {}}) == "-" and cell(None) == "-"


def test_the_ledger_keeps_the_patients_without_any_pseudonym(tmp_path: Path) -> None:
    """Decision 0442: the run's accounting, so RunResult, ledger and hospital report, count them."""
    counts = _accounting(without_pseudonym=2, dropped=3, delivered=107)
    staged = DeliveryStaged(
        registration="ldtr", period="2026-03", version=1, idempotency_key="h.ldtr.2026-03.v1",
        channel="https", format="fhir-ndjson", record_counts={"trauma": 107},
        excluded_optouts=10, content_sha256="c", provider="h", accounting=counts,
    )  # fmt: skip
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store:
        store.append(delivery_stream("ldtr", "2026-03"), [staged], None)
        (entry,) = load_ledger(store).versions("ldtr", "2026-03")
    assert entry.accounting == counts.as_summary()
    assert entry.accounting["without_pseudonym"] == 2


def test_copies_and_records_entered_in_error_are_in_the_source_and_the_ledger(
    tmp_path: Path,
) -> None:
    """Decision 0692: what a FHIR reader left out adds up with the rest, everywhere."""
    counts = _accounting(duplicates={"trauma": 2}, entered_in_error={"trauma": 1})
    assert counts.records_in_source == 123
    assert Accounting.from_summary(counts.as_summary()) == counts
    assert counts.describe().startswith(
        "in the source 123: second copies left out: trauma 2; "
        "entered in error left out: trauma 1; outside the period 0 before"
    )
    staged = DeliveryStaged(
        registration="ldtr", period="2026-04", version=1, idempotency_key="h.ldtr.2026-04.v1",
        channel="https", format="fhir-ndjson", record_counts={"trauma": 110},
        excluded_optouts=10, content_sha256="c", provider="h", accounting=counts,
    )  # fmt: skip
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store:
        store.append(delivery_stream("ldtr", "2026-04"), [staged], None)
        (entry,) = load_ledger(store).versions("ldtr", "2026-04")
    assert entry.accounting == counts.as_summary()
    assert entry.accounting["records_in_source"] == 123


def test_before_the_build_the_accounting_says_to_deliver_never_delivered_0() -> None:
    """Decision 0690: right after pseudonymisation nothing is built yet, and the line adds up."""
    pending = _accounting(dropped=3, delivered=0)
    assert pending.describe(built=False).endswith("dropped 3, to deliver 107")
    handed = pending.handed_on(built=False)
    assert "delivered" not in handed and handed["to_deliver"] == 107
    assert pending.handed_on() == pending.as_summary()


def test_a_stopped_runs_records_are_counted_as_blocked() -> None:
    """Decision 0696: a stopped run's line adds up, its records blocked, none delivered."""
    stopped = _accounting(delivered=0, blocked=110)
    assert Accounting.from_summary(stopped.as_summary()) == stopped
    assert stopped.describe().endswith("delivered 0, blocked 110 (the run was stopped)")


def test_records_are_delivered_only_when_their_version_is_receipted() -> None:
    """Decision 0751: a staged, refused or stopped version's records are not delivered."""
    staged = Accounting(records_read=10, excluded_optout=1, dropped=2, delivered=7)
    assert staged.as_version_status("receipted") == staged
    shown = {
        status: staged.as_version_status(status).as_summary()
        for status in ("staged", "failed", "rejected", "aborted")
    }
    assert [
        (s["delivered"], s["unreceipted"], s["refused"], s["blocked"]) for s in shown.values()
    ] == [
        (0, 7, 0, 0),
        (0, 7, 0, 0),
        (0, 0, 7, 0),
        (0, 0, 0, 7),
    ]
    for summary in shown.values():
        parts = ("excluded_optout", "dropped", "delivered", "blocked", "unreceipted", "refused")
        assert summary["records_read"] == sum(summary[k] for k in parts)
    assert "refused by the registry holder 7" in staged.as_version_status("rejected").describe()
    awaiting = staged.as_version_status("staged")
    assert "delivered" not in awaiting.describe() and "delivered" not in awaiting.handed_on()
