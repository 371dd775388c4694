"""A version placed in an outbox is not delivered until the hospital confirms the upload.

Red team, ledger truth (decision 0794): ``run --outbox DIR`` (or
``AANLEVERING_OUTBOX__<ID>``) places the version in a folder for a manual
upload, and the outbox writes its own receipt ("the files are here, whole").
The ledger took that receipt as the registry holder's: the calendar cell said
delivered, the year's legal minimum "met" and the yearly check was reset,
while nothing had left the hospital. Real TTP process, real event log, the
outbox folder and the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.periods import run_day
from aanlevering.projections import build_projections
from conftest import World
from support.receivers import REGISTRATION, outbox_receiver, run

PERIOD = "2026-Q1"
CONFIRM = f"aanlevering confirm-upload --registration {REGISTRATION} --period {PERIOD} --version 1"


def _state(world: World) -> tuple[str, str, object]:
    """The period's calendar state, the legal-minimum line and the yearly check's last day."""
    from aanlevering.deliver.ledger import load_ledger
    from aanlevering.obligation.calendar_view import calendars

    with world.store() as store:
        document = build_projections(store, world.catalogue, run_day())
        last = load_ledger(store).last_receipted_on(REGISTRATION)
    (calendar,) = calendars(document, REGISTRATION)
    (cell,) = [c for c in calendar.cells if c.period == PERIOD]
    return cell.state.value, calendar.legal_minimum.describe(), last


def test_an_outbox_hand_off_counts_only_once_its_upload_is_confirmed(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aanlevering.airflow.deliveries_page import render
    from aanlevering.cli.main import main

    result = run(
        world, outbox_receiver(world, tmp_path / "outbox"), world.demo / "csv-utf8", PERIOD
    )
    assert result.version == 1

    state, minimum, yearly = _state(world)
    assert state != "delivered", state
    assert "2026 met" not in minimum, minimum
    assert yearly is None, yearly
    capsys.readouterr()
    main(["status", "--registration", REGISTRATION])
    out = capsys.readouterr().out
    assert "not confirmed" in out and CONFIRM in out, out
    with world.store() as store:
        document = build_projections(store, world.catalogue, run_day())
    (row,) = [d for d in document["deliveries"] if d["idempotency_key"] == result.idempotency_key]
    assert row["accounting"]["delivered"] == 0, row["accounting"]
    assert row["accounting"]["unreceipted"] == sum(result.record_counts.values())
    page = render(document, world.settings.reports_dir, REGISTRATION)
    assert "not-confirmed" in page and CONFIRM in page
    report = json.loads((Path(result.validation_reports["hospital"])).read_text(encoding="utf-8"))
    assert report["delivery"]["status"] == "handed-over", report["delivery"]
    assert CONFIRM in report["delivery"]["what_to_do"]
    assert report["accounting"]["delivered"] == 0, report["accounting"]

    capsys.readouterr()
    # Not before it was placed: nothing recorded.
    assert main([*CONFIRM.split()[1:], "--received-on", "2026-01-02"]) == 2
    assert _state(world)[0] != "delivered"
    capsys.readouterr()
    assert main([*CONFIRM.split()[1:]]) == 0
    out = capsys.readouterr().out
    assert "confirmed" in out and "hospital report updated" in out, out
    # The report the engineer hands on follows the confirmation (0845).
    report = json.loads((Path(result.validation_reports["hospital"])).read_text(encoding="utf-8"))
    assert report["delivery"]["status"] == "delivered", report["delivery"]
    assert report["delivery"]["received_on"] == run_day().isoformat()
    assert CONFIRM not in report["delivery"]["what_to_do"]
    assert report["accounting"]["delivered"] == sum(result.record_counts.values())
    assert report["accounting"]["unreceipted"] == 0, report["accounting"]
    state, minimum, yearly = _state(world)
    assert state == "delivered", state
    assert "2026 met" in minimum, minimum
    assert yearly == run_day(), yearly
    with world.store() as store:
        document = build_projections(store, world.catalogue, run_day())
    (row,) = [d for d in document["deliveries"] if d["idempotency_key"] == result.idempotency_key]
    assert row["accounting"]["delivered"] == sum(result.record_counts.values())
    assert "not_confirmed" not in row
    # Confirmed once: a second confirmation is refused (exit 2), nothing recorded twice.
    assert main([*CONFIRM.split()[1:]]) == 2
