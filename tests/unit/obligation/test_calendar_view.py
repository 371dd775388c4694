"""The calendar at a glance: cell states, the legal-minimum line and the HTML, from real events.

The events go through a real SQLite event store and the real projection
(``build_projections``), as the Deliveries page and ``aanlevering status``
read them; the catalogue is the shipped one (dica-dsaa quarterly, ldtr
monthly, nkr-borst yearly).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.events import (
    DeliveryAttemptFailed,
    DeliveryReceipted,
    DeliveryStaged,
    delivery_stream,
)
from aanlevering.events.factory import open_event_store
from aanlevering.events.store import EventStore
from aanlevering.obligation.calendar_html import calendar_page
from aanlevering.obligation.calendar_view import (
    CellState,
    RegistrationCalendar,
    Verdict,
    calendars,
    legal_minimum,
)
from aanlevering.obligation.decisions import RegisterDecision
from aanlevering.obligation.service import record_decisions
from aanlevering.pipeline.events import RunLockReleased, run_lock_stream
from aanlevering.projections import build_projections

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
ON = date(2026, 10, 20)


def _decide(store: EventStore, registration: str, kind: str, day: date, **more: Any) -> None:
    decision = RegisterDecision(
        registration=registration,
        kind=kind,  # type: ignore[arg-type]
        decided_on=day,
        effective_from=day,
        **more,
    )
    record_decisions(store, [decision])


def _staged(registration: str, period: str, version: int = 1, **more: Any) -> DeliveryStaged:
    return DeliveryStaged(
        registration=registration,
        period=period,
        version=version,
        idempotency_key=f"{registration}.{period}.v{version}",
        channel="https",
        format="csv",
        **more,
    )


def _receipted(registration: str, period: str, version: int = 1) -> DeliveryReceipted:
    return DeliveryReceipted(
        registration=registration,
        period=period,
        version=version,
        idempotency_key=f"{registration}.{period}.v{version}",
        receipt_id=f"r-{registration}-{period}",
        receiver="holder",
        channel="https",
        received_at=f"{period[:4]}-09-01T10:00:00+00:00",
    )


def _blocked_run(store: EventStore, registration: str, period: str) -> None:
    store.append(
        run_lock_stream("demo-hospital", registration, period),
        [
            RunLockReleased(
                provider_id="demo-hospital",
                registration=registration,
                period=period,
                run_id="run-1",
                outcome="validation-blocked",
            )
        ],
        None,
    )


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('calendar') / 'events.sqlite3'}"
    with open_event_store(url) as store:
        # ldtr (monthly): included in January; January delivered, February blocked by
        # validation, March refused by the registry holder, the rest not delivered.
        _decide(store, "ldtr", "included", date(2026, 1, 15), term_years=5)
        store.append(
            delivery_stream("ldtr", "2026-01"),
            [
                _staged("ldtr", "2026-01", record_counts={"trauma": 42}, excluded_optouts=3),
                _receipted("ldtr", "2026-01"),
            ],
            None,
        )
        _blocked_run(store, "ldtr", "2026-02")
        store.append(
            delivery_stream("ldtr", "2026-03"),
            [
                _staged("ldtr", "2026-03", record_counts={"trauma": 7}),
                DeliveryAttemptFailed(
                    registration="ldtr",
                    period="2026-03",
                    idempotency_key="ldtr.2026-03.v1",
                    attempt=1,
                    retryable=False,
                    reason="422 from the registry holder",
                ),
            ],
            None,
        )
        # dica-dsaa (quarterly): included in February, withdrawn in July; Q1 delivered.
        _decide(store, "dica-dsaa", "included", date(2026, 2, 1), term_years=5)
        _decide(store, "dica-dsaa", "withdrawn", date(2026, 7, 1))
        store.append(
            delivery_stream("dica-dsaa", "2026-Q1"),
            [_staged("dica-dsaa", "2026-Q1", record_counts={"operatie": 5}), _receipted(
                "dica-dsaa", "2026-Q1"
            )],
            None,
        )  # fmt: skip
        # nkr-borst (yearly, waits for a decision): nothing decided.
    yield url


def _calendars(url: str, on: date = ON) -> dict[str, RegistrationCalendar]:
    with open_event_store(url) as store:
        document = build_projections(store, load_catalogue(CATALOGUE), on)
    return {c.registration: c for c in calendars(document)}


def _states(calendar: RegistrationCalendar) -> dict[str, CellState]:
    return {cell.period: cell.state for cell in calendar.cells}


def test_every_colour_comes_from_the_events(store_url: str) -> None:
    ldtr = _states(_calendars(store_url)["ldtr"])
    assert ldtr["2026-01"] is CellState.DELIVERED
    assert ldtr["2026-02"] is CellState.BLOCKED  # validation stopped its last run
    assert ldtr["2026-03"] is CellState.BLOCKED  # the registry holder refused it
    assert [ldtr[f"2026-{m:02d}"] for m in range(4, 9)] == [CellState.OVERDUE] * 5
    assert ldtr["2026-09"] is CellState.DUE  # closed 1 October, due by 1 November
    assert ldtr["2026-10"] is CellState.OPEN
    assert list(ldtr) == [f"2026-{m:02d}" for m in range(1, 11)]

    dica = _states(_calendars(store_url)["dica-dsaa"])
    assert dica == {
        "2026-Q1": CellState.DELIVERED,
        "2026-Q2": CellState.LAPSED,  # owed while included, withdrawn before delivery
        "2026-Q3": CellState.NOT_OWED,
        "2026-Q4": CellState.NOT_OWED,
    }
    assert set(_states(_calendars(store_url)["nkr-borst"]).values()) == {CellState.NOT_OWED}


def test_hover_text_has_counts_and_opt_out_exclusions_only(store_url: str) -> None:
    cells = {c.period: c for c in _calendars(store_url)["ldtr"].cells}
    delivered = cells["2026-01"].hover()
    assert delivered.startswith("2026-01: delivered; due by 2026-03-01; version 1; ")
    assert "records: trauma 42" in delivered
    assert "excluded by opt-out: 3" in delivered
    assert "receipt r-ldtr-2026-01 (2026-09-01)" in delivered
    assert "validation blocked the last run" in cells["2026-02"].hover()
    assert "refused version 1" in cells["2026-03"].hover()
    assert "due by 2026-11-01" in cells["2026-09"].hover()
    assert "records" not in cells["2026-09"].hover()  # nothing staged: no counts to show


def test_a_later_delivery_of_a_blocked_period_shows_delivered(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    with open_event_store(url) as store:
        _decide(store, "ldtr", "included", date(2026, 1, 15), term_years=5)
        _blocked_run(store, "ldtr", "2026-02")
        store.append(
            delivery_stream("ldtr", "2026-02"),
            [_staged("ldtr", "2026-02"), _receipted("ldtr", "2026-02")],
            None,
        )
    assert _states(_calendars(url)["ldtr"])["2026-02"] is CellState.DELIVERED


def test_legal_minimum_met_not_yet_due_and_not_owed(store_url: str) -> None:
    found = _calendars(store_url)
    ldtr = found["ldtr"].legal_minimum
    assert ldtr.verdict is Verdict.MET
    assert ldtr.years[0].year == 2026 and ldtr.years[0].delivered == 1
    assert "MET: 2026 met (1 period delivered)" in ldtr.describe()
    assert found["nkr-borst"].legal_minimum.verdict is Verdict.NOT_OWED
    assert "not owed" in found["nkr-borst"].legal_minimum.describe()


def test_legal_minimum_not_yet_due_then_not_met(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    with open_event_store(url) as store:
        _decide(store, "nkr-borst", "included", date(2026, 3, 1), term_years=5)
    during = _calendars(url, date(2026, 10, 20))["nkr-borst"].legal_minimum
    assert during.verdict is Verdict.NOT_YET_DUE
    assert during.years[0].deadline == date(2027, 4, 1)  # end of 2026 plus the yearly grace
    assert "2026 not yet due (deliver by 2027-04-01)" in during.describe()
    just_before = _calendars(url, date(2027, 3, 31))["nkr-borst"].legal_minimum
    assert just_before.years[0].verdict is Verdict.NOT_YET_DUE
    after = _calendars(url, date(2027, 4, 1))["nkr-borst"].legal_minimum
    assert after.verdict is Verdict.NOT_MET
    assert [(y.year, y.verdict) for y in after.years] == [
        (2026, Verdict.NOT_MET),
        (2027, Verdict.NOT_YET_DUE),
    ]
    assert "2026 NOT met (nothing delivered by 2027-04-01)" in after.describe()


def test_a_late_retroactive_inclusion_moves_the_deadline(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    with open_event_store(url) as store:
        _decide(store, "nkr-borst", "included", date(2027, 2, 1), term_years=5)
    minimum = _calendars(url, date(2027, 4, 15))["nkr-borst"].legal_minimum
    # 2026 is owed retroactively; its grace runs from the inclusion (1 Feb + 3 months).
    assert minimum.years[0].year == 2026 and minimum.years[0].deadline == date(2027, 5, 1)
    assert minimum.verdict is Verdict.NOT_YET_DUE


def test_no_period_before_2026_is_judged() -> None:
    assert legal_minimum((), date(2025, 12, 1)).verdict is Verdict.NOT_OWED


class _Cells(HTMLParser):
    """Collects the calendar cells (period, state, visible text, tooltip) of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self._depth = 0
        self._in_tip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "td" and "data-state" in found:
            self.cells.append(
                {"period": found["data-period"] or "", "state": found["data-state"] or "",
                 "class": found["class"] or "", "text": "", "tip": "",
                 "described": found.get("aria-describedby") or ""}
            )  # fmt: skip
        elif tag == "span" and found.get("role") == "tooltip" and self.cells:
            self._in_tip = True
            self.cells[-1]["tip_id"] = found.get("id") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_tip = False

    def handle_data(self, data: str) -> None:
        if self.cells:
            self.cells[-1]["tip" if self._in_tip else "text"] += data


def test_the_html_has_a_labelled_cell_per_period_and_the_legal_line(store_url: str) -> None:
    with open_event_store(store_url) as store:
        document = build_projections(store, load_catalogue(CATALOGUE), ON)
    page = calendar_page(document)
    parser = _Cells()
    parser.feed(page)
    cells = {(c["class"].split()[1], c["period"]): c for c in parser.cells}
    assert len(parser.cells) == 4 + 10 + 1  # quarters, months, the year
    delivered = cells[("s-delivered", "2026-01")]
    assert "delivered" in delivered["text"]  # the state in words, not colour alone
    assert "trauma 42" in delivered["tip"] and "excluded by opt-out: 3" in delivered["tip"]
    assert delivered["described"] == delivered["tip_id"]
    assert {c["state"] for c in parser.cells} == {s.value for s in CellState}
    for state in CellState:  # every state has a colour rule and a legend entry
        assert f".s-{state.value}{{background:" in page
        assert re.search(rf"<li class='s-{state.value}'>[^<]*<b>{state.value}</b>", page)
    assert "data-verdict='met'" in page and "data-verdict='not owed'" in page
    assert "http" not in page.split("</style>")[0]  # nothing fetched: no external CSS
    assert "<script" not in page


def test_the_html_escapes_what_the_document_says() -> None:
    hostile = "<img src=x onerror=alert(1)>"
    document = {
        "as_of": "2026-10-20",
        "last_position": 1,
        "deliveries": [
            {"registration": "ldtr", "period": "2026-01", "version": 1, "status": "receipted",
             "record_counts": {hostile: 1}, "excluded_optouts": 0, "receipt_id": hostile,
             "received_at": hostile}
        ],
        "registrations": {
            "ldtr": {"name": hostile, "frequency": hostile, "yearly_check": {},
                     "periods": [{"period": "2026-01", "state": "delivered", "due_by": None,
                                  "reason": hostile}]}
        },
    }  # fmt: skip
    page = calendar_page(document)
    assert "<img" not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 4


def test_status_command_writes_the_same_calendar_as_html_and_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aanlevering.cli.main import main

    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AANLEVERING_EVENT_STORE", raising=False)
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(CATALOGUE))
    decide = ["register", "decide", "--registration", "nkr-borst", "--decision", "included"]
    assert main([*decide, "--decided-on", "2026-03-01", "--term-years", "5"]) == 0
    capsys.readouterr()

    out = tmp_path / "calendar.html"
    argv = ["status", "--on", "2026-10-20", "--registration", "nkr-borst", "--format", "html"]
    assert main([*argv, "--output", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<h1>Delivery calendar</h1>" in page
    assert "data-period='2026' data-state='open'" in page
    assert "data-verdict='not yet due'" in page and "dica-dsaa" not in page
    assert main(argv) == 0
    assert capsys.readouterr().out == page  # stdout without --output: the same document

    assert main(["status", "--on", "2026-10-20", "--registration", "nkr-borst"]) == 0
    text = capsys.readouterr().out
    assert "Legal minimum (one delivery per year since 2026-01-01): NOT YET DUE" in text
    assert ".. 2026     open (due by 2027-04-01)" in text
