"""A version the receiver holds with other content never makes its period delivered (0841).

``DeliveryVersionTaken`` (0380) says the registry holder holds version N of
this provider's period with content this log does not know (an earlier run);
the run re-stages its own content as N+1. When N+1 then fails or is refused,
the period's latest version the holder has is N, and the calendar, the
legal minimum and the yearly check counted N as this period's delivery: a
false "delivered". Later runs must still plan past N (it is taken).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from obligation_support import decision, status_of

from aanlevering.deliver.events import (
    DeliveryAttemptFailed,
    DeliveryReceipted,
    DeliveryStaged,
    DeliveryVersionTaken,
    delivery_stream,
)
from aanlevering.deliver.ledger import load_ledger
from aanlevering.events.model import DomainEvent
from aanlevering.events.store import EventStore
from aanlevering.obligation.calendar import delivery_calendar
from aanlevering.periods import Period

REG = "nkr-borst"


def _key(version: int) -> str:
    return f"hospital-a.{REG}.2026.v{version}"


def _staged(version: int, kind: str = "delivery") -> DeliveryStaged:
    return DeliveryStaged(
        registration=REG, period="2026", version=version, idempotency_key=_key(version),
        channel="https", format="fhir-ndjson", kind=kind, content_sha256="this-runs-content",
        record_counts={"borst": 4}, provider="hospital-a",
    )  # fmt: skip


def _taken(version: int, kind: str = "delivery") -> DeliveryVersionTaken:
    return DeliveryVersionTaken(
        registration=REG, period="2026", version=version, idempotency_key=_key(version),
        receipt_id=f"r-earlier-{version}", receiver="holder",
        received_at="2027-02-01T10:00:00+00:00", provider="hospital-a", kind=kind,
    )  # fmt: skip


def _receipted(version: int, day: str) -> DeliveryReceipted:
    return DeliveryReceipted(
        registration=REG, period="2026", version=version, idempotency_key=_key(version),
        receipt_id=f"r-{version}", receiver="holder", channel="https",
        received_at=f"{day}T10:00:00+00:00", provider="hospital-a",
    )  # fmt: skip


def _failed(version: int, *, retryable: bool) -> DeliveryAttemptFailed:
    return DeliveryAttemptFailed(
        registration=REG, period="2026", idempotency_key=_key(version), attempt=1,
        retryable=retryable, reason="503" if retryable else "refused: checksum",
    )  # fmt: skip


def _log(store: EventStore, *events: DomainEvent) -> None:
    store.append(delivery_stream(REG, "2026"), list(events), None)


def test_a_taken_version_whose_successor_failed_leaves_the_period_owed(
    make_config, catalogue, store: EventStore
) -> None:
    from aanlevering.obligation.calendar_view import calendars
    from aanlevering.obligation.decisions import RegisterDecision
    from aanlevering.obligation.service import record_decisions
    from aanlevering.pipeline.operations import plan_for_fingerprint
    from aanlevering.projections import build_projections

    record_decisions(
        store,
        [RegisterDecision(REG, "included", date(2026, 1, 1), date(2026, 1, 1), term_years=5)],
    )
    # v1 is taken by an earlier run's content; this run's content, re-staged as v2, fails.
    _log(store, _staged(1), _taken(1), _staged(2), _failed(2, retryable=True))
    ledger = load_ledger(store)

    assert "2026" not in ledger.delivered_periods(REG)
    assert ledger.last_receipted_on(REG) is None
    config = make_config(REG)
    status = status_of(decision("included", date(2026, 1, 1), term_years=5))
    calendar = delivery_calendar(config, status, ledger, date(2027, 6, 1))
    (entry,) = [e for e in calendar.entries if e.period.label == "2026"]
    assert entry.state.value != "delivered", entry

    document = build_projections(store, catalogue, date(2027, 6, 1))
    (view,) = calendars(document, REG)
    (cell,) = [c for c in view.cells if c.period == "2026"]
    assert cell.state.value in {"due", "overdue"}, cell
    assert "r-earlier-1" not in cell.hover(), cell.hover()  # not shown as the period's receipt
    assert "2026 met" not in view.legal_minimum.describe(), view.legal_minimum.describe()

    # Later runs still plan past the taken version: other content is v3, superseding v1.
    plan = plan_for_fingerprint(
        config, store, Period.parse("2026"), "other-content", provider="hospital-a"
    )
    assert (plan.version, plan.supersedes) == (3, _key(1))

    _log(store, _failed(2, retryable=False))  # the holder refuses v2: still owed
    assert "2026" not in load_ledger(store).delivered_periods(REG)
    _log(store, _staged(3), _receipted(3, "2027-03-01"))  # this log's own content receipted
    assert "2026" in load_ledger(store).delivered_periods(REG)
    assert load_ledger(store).last_receipted_on(REG) == date(2027, 3, 1)


def test_a_taken_retraction_still_withdraws_and_an_own_delivery_still_counts(
    store: EventStore,
) -> None:
    _log(store, _staged(1), _receipted(1, "2027-02-01"), _staged(2), _taken(2, "retraction"))
    ledger = load_ledger(store)
    assert "2026" not in ledger.delivered_periods(REG)  # the holder holds a retraction
    assert ledger.last_retracted_on(REG) == date(2027, 2, 1)
    assert ledger.last_receipted_on(REG) is None


def test_status_says_what_a_taken_version_is(
    store: EventStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from aanlevering.cli.main import main
    from aanlevering.settings import checkout_root

    _log(store, _staged(1), _taken(1), _staged(2), _failed(2, retryable=True))
    root = checkout_root()
    assert root is not None
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", f"sqlite:///{tmp_path / 'events.sqlite3'}")
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(root / "schemas" / "catalogue"))
    assert main(["status", "--on", "2027-06-01", "--registration", REG]) == 0
    text = capsys.readouterr().out
    line = text[text.index(f"{REG} 2026 v1 ") :].split("\n  nkr")[0]
    assert "not counted as delivered" in line, text
    assert "ok 2026" not in text, text


def test_a_taken_version_alone_is_not_shown_as_the_periods_receipt(
    catalogue, store: EventStore, tmp_path: Path
) -> None:
    """The run died after the taken answer (nothing re-staged yet): the period is owed."""
    from aanlevering.airflow.deliveries_page import render
    from aanlevering.obligation.calendar_view import calendars
    from aanlevering.obligation.decisions import RegisterDecision
    from aanlevering.obligation.service import record_decisions
    from aanlevering.projections import build_projections

    record_decisions(
        store,
        [RegisterDecision(REG, "included", date(2026, 1, 1), date(2026, 1, 1), term_years=5)],
    )
    _log(store, _staged(1), _taken(1))
    document = build_projections(store, catalogue, date(2027, 6, 1))
    (cell,) = [c for c in calendars(document, REG)[0].cells if c.period == "2026"]
    assert cell.state.value in {"due", "overdue"}, cell
    assert "receipt r-earlier-1 (2027" not in cell.hover(), cell.hover()  # not the period's
    assert "content this log does not know" in cell.hover(), cell.hover()
    page = render(document, tmp_path, REG)
    row = page[page.index("<td>2026</td>") :].split("</tr>")[0]
    assert "held with content this log does not know" in row, row
