"""A register decision's note holding patient data is refused on every path, nothing recorded.

Decision 0882 checked ``register decide --note`` in the CLI only: the service
layer (``record_decisions``) recorded whatever note a caller gave it, and a
note read from a feed file (``register ingest``, column ``note``) was never
looked at, so "besluit over patient 0012345" from a ministry file went into the
append-only log for good (decision 0902). Both backends; the feed's error names
the file, the row and the column, never the value, and nothing of the feed is
recorded. The ministry's case number (``ZIN-2026-014``) still passes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aanlevering.cli.main import main
from aanlevering.events import open_event_store
from aanlevering.obligation.decisions import InvalidDecision, RegisterDecision
from aanlevering.obligation.events import REGISTER_EVENT_TYPES
from aanlevering.obligation.service import record_decisions

#: Notes that look like patient data, and the kind the refusal names.
REFUSED = {
    "besluit over patient 0012345": "a number of five digits or more",
    "zie BSN-2012-345 67": "a number of five digits or more",
    "MRN-2026-014": "a number of five digits or more",
    "ZIN-2026-0123456": "a number of five digits or more",
    "mw Bos, geboren 14-03-1950": "a date",
    "woont 1012 AB": "a postcode",
}
CASE_NUMBERS = ["ZIN-2026-014", "ZIN-2026-014 (corrected)", "VWS letter, Q1 2026, ZIN-2026-7"]


def _event_log_text(url: str) -> str:
    """Every register event's payload in the log."""
    with open_event_store(url) as store:
        return "\n".join(str(r.payload) for r in store.read_types(list(REGISTER_EVENT_TYPES)))


@pytest.mark.parametrize(("note", "kind"), list(REFUSED.items()))
def test_the_service_layer_refuses_a_note_with_patient_data(
    store_url: str, note: str, kind: str
) -> None:
    decision = RegisterDecision("nkr-borst", "rejected", date(2026, 4, 15), note=note)
    with open_event_store(store_url) as store, pytest.raises(InvalidDecision) as refused:
        record_decisions(store, [decision])
    assert refused.value.field == "note" and kind in refused.value.problem
    assert note not in str(refused.value)
    assert _event_log_text(store_url) == ""


@pytest.mark.parametrize("note", CASE_NUMBERS)
def test_a_case_number_is_kept(store_url: str, note: str) -> None:
    decision = RegisterDecision("nkr-borst", "rejected", date(2026, 4, 15), note=note)
    with open_event_store(store_url) as store:
        assert record_decisions(store, [decision]).appended == 1
    assert note in _event_log_text(store_url)


@pytest.mark.parametrize("fmt", ["csv", "yaml"])
def test_a_feed_row_whose_note_holds_patient_data_records_nothing_of_the_feed(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", store_url)
    monkeypatch.delenv("AANLEVERING_CATALOGUE", raising=False)
    bad = "mw Bos 14-03-1950, patient 0012345"
    feed = tmp_path / f"besluiten.{fmt}"
    if fmt == "csv":
        feed.write_text(
            "registration;decision;decided_on;effective_from;term_years;until;note\n"
            "nkr-borst;included;01-03-2026;2026-03-01;5;;ZIN-2026-014\n"
            f"dica-dsaa;rejected;2026-04-15;;;;{bad}\n",
            encoding="utf-8",
        )
        row = "line 3"
    else:
        feed.write_text(
            "decisions:\n"
            "  - {registration: nkr-borst, decision: included, decided_on: 2026-03-01, "
            "term_years: 5, note: ZIN-2026-014}\n"
            f"  - {{registration: dica-dsaa, decision: rejected, decided_on: 2026-04-15, "
            f"note: '{bad}'}}\n",
            encoding="utf-8",
        )
        row = "entry 2"
    code = main(["register", "ingest", str(feed)])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert str(feed) in err and f"{row}, field note" in err, err
    assert "holds what looks like patient data" in err, err
    for value in ("0012345", "14-03-1950", "Bos"):
        assert value not in err + out
    assert _event_log_text(store_url) == ""  # not even the good row: nothing half

    feed.write_text(feed.read_text(encoding="utf-8").replace(bad, "ZIN-2026-115"), "utf-8")
    assert main(["register", "ingest", str(feed)]) == 0
    recorded = _event_log_text(store_url)
    assert "ZIN-2026-014" in recorded and "ZIN-2026-115" in recorded
