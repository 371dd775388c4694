"""A retracted delivery does not count for the yearly check (decision 0790).

The registry holder holds nothing of a period whose latest receipted version
is a retraction: the delivery it withdrew (and every older version of the
period) must not reset "at least once a year", and the check says why it
counts from the obligation ("last delivery retracted on ...").
"""

from __future__ import annotations

from datetime import date

from obligation_support import decision, status_of

from aanlevering.deliver.events import DeliveryReceipted, DeliveryStaged, delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.events.store import EventStore
from aanlevering.obligation.calendar import delivery_calendar

REG = "nkr-borst"


def _key(period: str, version: int) -> str:
    return f"hospital-a.{REG}.{period}.v{version}"


def _version(store: EventStore, period: str, version: int, day: str, kind: str) -> None:
    """Stage and receipt one version of ``period`` (a delivery or a retraction)."""
    store.append(
        delivery_stream(REG, period),
        [
            DeliveryStaged(
                registration=REG,
                period=period,
                version=version,
                idempotency_key=_key(period, version),
                channel="https",
                format="fhir-ndjson",
                kind=kind,
                content_sha256=f"content-{version}",
                supersedes=_key(period, version - 1) if version > 1 else None,
                provider="hospital-a",
            ),
            DeliveryReceipted(
                registration=REG,
                period=period,
                version=version,
                idempotency_key=_key(period, version),
                receipt_id=f"r-{period}-{version}",
                receiver="holder",
                channel="https",
                received_at=f"{day}T10:00:00+00:00",
                provider="hospital-a",
            ),
        ],
        None,
    )


def test_a_retracted_delivery_does_not_reset_the_yearly_check(
    make_config, store: EventStore
) -> None:
    config = make_config(REG)
    status = status_of(decision("included", date(2026, 1, 1), term_years=5))
    _version(store, "2026", 1, "2027-02-01", "delivery")
    _version(store, "2026", 2, "2027-03-01", "delivery")  # a correction, superseding v1
    _version(store, "2026", 3, "2027-04-01", "retraction")  # withdraws v2: nothing held
    ledger = load_ledger(store)

    assert ledger.last_receipted_on(REG) is None
    check = delivery_calendar(config, status, ledger, date(2027, 6, 1)).yearly
    assert check.flagged, check
    assert check.counting_from == date(2026, 1, 1)
    assert "last delivery retracted on 2027-04-01" in check.reason, check.reason


def test_only_a_delivery_after_the_retraction_counts(make_config, store: EventStore) -> None:
    config = make_config(REG)
    status = status_of(decision("included", date(2026, 1, 1), term_years=5))
    _version(store, "2026", 1, "2027-02-01", "delivery")
    _version(store, "2026", 2, "2027-04-01", "retraction")
    _version(store, "2026", 3, "2027-05-01", "delivery")  # delivered again
    ledger = load_ledger(store)

    assert ledger.last_receipted_on(REG) == date(2027, 5, 1)
    check = delivery_calendar(config, status, ledger, date(2027, 6, 1)).yearly
    assert not check.flagged and check.counting_from == date(2027, 5, 1), check
    assert "retracted" not in check.reason


def test_a_retraction_of_one_period_leaves_another_periods_delivery(
    make_config, store: EventStore
) -> None:
    config = make_config(REG)
    status = status_of(decision("included", date(2026, 1, 1), term_years=5))
    _version(store, "2027", 1, "2028-02-01", "delivery")
    _version(store, "2026", 1, "2028-03-01", "delivery")
    _version(store, "2026", 2, "2028-04-01", "retraction")
    ledger = load_ledger(store)

    assert ledger.last_receipted_on(REG) == date(2028, 2, 1)
    check = delivery_calendar(config, status, ledger, date(2028, 6, 1)).yearly
    assert check.counting_from == date(2028, 2, 1)
    assert "last receipted delivery 2028-02-01; last delivery retracted on 2028-04-01" in (
        check.reason
    )


def test_the_page_and_the_cell_do_not_show_a_withdrawn_receipt_as_current(
    catalogue, store: EventStore, tmp_path
) -> None:
    """After a receipted retraction the period is due: its old receipt is named withdrawn."""
    from aanlevering.airflow.deliveries_page import render
    from aanlevering.obligation.calendar_view import calendars
    from aanlevering.obligation.decisions import RegisterDecision
    from aanlevering.obligation.service import record_decisions
    from aanlevering.projections import build_projections

    record_decisions(
        store,
        [RegisterDecision(REG, "included", date(2026, 1, 1), date(2026, 1, 1), term_years=5)],
    )
    _version(store, "2026", 1, "2027-02-01", "delivery")
    _version(store, "2026", 2, "2027-03-01", "retraction")
    document = build_projections(store, catalogue, date(2027, 3, 10))

    (cell,) = [c for c in calendars(document, REG)[0].cells if c.period == "2026"]
    assert cell.state.value == "due", cell
    assert "receipt r-2026-1" not in cell.hover(), cell.hover()
    assert "withdrawn by the retraction v2" in cell.hover(), cell.hover()
    page = render(document, tmp_path, REG)
    row = page[page.index("<td>2026</td>") :].split("</tr>")[0]
    assert "r-2026-1" not in row or "withdrawn by the retraction v2" in row, row
