"""A version sent without a receipt and then stopped by the register may be at the holder.

Red team, ledger truth (decision 0791): every commit of v1 was answered with an
error (the holder, or a proxy after it, may have stored it), so the run ended
``failed`` (retryable). A negative register
decision then arrived before the hourly retry. Decision 0752 warned only of an
``aborted`` version; this one stayed ``failed`` with no "may have arrived"
and no retract command in ``aanlevering status``, on the Deliveries page or
in the hospital's report, which still said the retry would send it. Real
registry holder and TTP processes over 127.0.0.1, real event log.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import DeliveryError
from aanlevering.obligation.decisions import RegisterDecision
from aanlevering.obligation.service import record_decisions
from aanlevering.periods import run_day
from aanlevering.projections import build_projections
from aanlevering.runs.retry import retry_unreceipted
from conftest import World
from support.receivers import REGISTRATION, https_receiver, run

PERIOD = "2026-Q2"
RETRACT = f"aanlevering retract --registration {REGISTRATION} --period {PERIOD}"


def _hospital_report(world: World, version: int) -> dict[str, Any]:
    path = world.settings.reports_dir / REGISTRATION / PERIOD / f"v{version}"
    loaded: dict[str, Any] = json.loads((path / "hospital-report.json").read_text("utf-8"))
    return loaded


def _status(capsys: pytest.CaptureFixture[str]) -> list[str]:
    from aanlevering.cli.main import main

    capsys.readouterr()
    main(["status", "--registration", REGISTRATION])
    return capsys.readouterr().out.splitlines()


def _warning_under(lines: list[str], version_line: str) -> str:
    (at,) = [i for i, line in enumerate(lines) if version_line in line]
    return " ".join(lines[at + 1 : at + 3])


def test_a_failed_version_the_register_then_stopped_says_it_may_be_at_the_holder(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from aanlevering.airflow.deliveries_page import render
    from aanlevering.obligation.calendar_view import calendars

    key = f"{world.settings.provider_id}.{REGISTRATION}.{PERIOD}.v1"
    # Every commit answered 500: whether the holder stored it, the hospital cannot know.
    world.holder.faults(fail_commits=5)
    try:
        with pytest.raises(DeliveryError, match="not receipted"):
            run(world, https_receiver(world), world.demo / "csv-utf8", PERIOD)
    finally:
        world.holder.faults(fail_commits=0)
    with world.store() as store:
        entry = load_ledger(store).entries[key]
    assert (entry.status, entry.attempts >= 1) == ("failed", True)

    day = run_day()
    with world.store() as store:
        record_decisions(
            store, [RegisterDecision(REGISTRATION, "rejected", decided_on=day, effective_from=day)]
        )

    # Before any retry: status and the Deliveries page say it may be at the holder.
    with world.store() as store:
        document = build_projections(store, world.catalogue, day)
    (row,) = [d for d in document["deliveries"] if d["idempotency_key"] == key]
    assert "may have arrived" in str(row.get("sent_without_receipt")), row
    page = render(document, world.settings.reports_dir, REGISTRATION)
    assert "sent-without-receipt" in page and "may have arrived" in page
    assert RETRACT in page
    periods = document["registrations"][REGISTRATION]["periods"]
    (cell,) = [p for p in periods if p["period"] == PERIOD]
    assert cell["state"] != "delivered", cell
    (shown,) = [c for c in calendars(document, REGISTRATION)[0].cells if c.period == PERIOD]
    assert shown.state.value != "delivered" and "may have arrived" in shown.hover(), shown
    warning = _warning_under(_status(capsys), f" {PERIOD} v1 failed ")
    assert "may have arrived at the registry holder" in warning, warning
    assert RETRACT in warning, warning

    # The hourly retry is refused by the register: it stops v1 and says so in its report.
    outcomes = retry_unreceipted(today=day)
    assert [(o.idempotency_key, o.status) for o in outcomes] == [(key, "no-obligation")]
    with world.store() as store:
        entry = load_ledger(store).entries[key]
        assert [e.idempotency_key for e in load_ledger(store).unreceipted()] == []
    assert entry.status == "aborted", entry
    report = _hospital_report(world, 1)
    assert report["delivery"]["status"] == "aborted", report["delivery"]
    assert "may have arrived" in report["delivery"]["what_to_do"], report["delivery"]
    assert RETRACT in report["delivery"]["what_to_do"]
    assert report["accounting"]["delivered"] == 0
    warning = _warning_under(_status(capsys), f" {PERIOD} v1 aborted ")
    assert "may have arrived at the registry holder" in warning, warning
    assert retry_unreceipted(today=day) == []  # nothing left to retry
