"""Every version's records cell on the Deliveries page and in ``status`` says something true.

A version placed in an outbox (handed over, not confirmed) or sent without a
receipt shows the counts its run recorded when it staged it, as awaiting the
registry holder's receipt. A version the registry holder holds with content
this log does not know (taken, decision 0380) showed an empty records cell
and "opt-out excluded 0": a blank read as nothing, a 0 read as known. Its
counts are unknown to this log, and the run's own counts belong to the next
version; both places say "unknown" and why (decision 0972). No identifier.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from aanlevering.airflow.deliveries_page import render
from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.accounting import Accounting
from aanlevering.deliver.events import (
    DeliveryAttemptFailed,
    DeliveryReceipted,
    DeliveryStaged,
    DeliveryVersionTaken,
    delivery_stream,
)
from aanlevering.events.factory import open_event_store
from aanlevering.projections import build_projections
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
REG = "dica-dsaa"


def _staged(period: str, version: int, channel: str, records: int) -> DeliveryStaged:
    return DeliveryStaged(
        registration=REG, period=period, version=version,
        idempotency_key=f"demo-hospital.{REG}.{period}.v{version}", channel=channel,
        format="csv", record_counts={"operatie": records}, excluded_optouts=2,
        content_sha256=f"content-{period}-{version}", provider="demo-hospital",
        accounting=Accounting(records_read=records, patients=records, delivered=records),
    )  # fmt: skip


def _home(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "AANLEVERING_HOME": str(tmp_path / "home"),
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    env.pop("AANLEVERING_EVENT_STORE", None)
    handed = _staged("2026-Q1", 1, "outbox", 7)
    unreceipted = _staged("2026-Q2", 1, "https", 8)
    taken = _staged("2026-Q3", 1, "https", 9)
    history = {
        "2026-Q1": [
            handed,
            DeliveryReceipted(
                registration=REG, period="2026-Q1", version=1,
                idempotency_key=handed.idempotency_key, receipt_id="r-outbox",
                receiver="outbox:/srv/outbox", channel="outbox",
                received_at="2026-04-10T10:00:00+00:00", provider="demo-hospital",
            ),
        ],
        "2026-Q2": [
            unreceipted,
            DeliveryAttemptFailed(
                registration=REG, period="2026-Q2",
                idempotency_key=unreceipted.idempotency_key, attempt=1, retryable=True,
                reason="not receipted within 60 s", provider="demo-hospital",
            ),
        ],
        "2026-Q3": [
            taken,
            DeliveryVersionTaken(
                registration=REG, period="2026-Q3", version=1,
                idempotency_key=taken.idempotency_key, receipt_id="r-earlier",
                receiver="dica", received_at="2026-10-02T10:00:00+00:00",
                provider="demo-hospital", kind="delivery",
            ),
        ],
    }  # fmt: skip
    with open_event_store(load_settings(env).event_store_url) as store:
        for period, events in history.items():
            store.append(delivery_stream(REG, period), events, None)
    return env


def _row(page: str, period: str) -> str:
    table = page.split("<th>receipt</th></tr>", 1)[1]
    return table.split(f"<td>{period}</td>", 1)[1].split("</tr>", 1)[0]


def test_the_page_shows_staged_counts_awaiting_a_receipt_and_unknown_for_a_taken_version(
    tmp_path: Path,
) -> None:
    env = _home(tmp_path)
    with open_event_store(load_settings(env).event_store_url) as store:
        document = build_projections(
            store, load_catalogue(str(REPO / "schemas" / "catalogue")), date(2026, 11, 1)
        )
    page = render(document, tmp_path)
    for period, records in (("2026-Q1", 7), ("2026-Q2", 8)):
        row = _row(page, period)
        assert f"operatie: {records}" in row, row
        assert f"awaiting the registry holder&#x27;s receipt {records}" in row, row
    taken = _row(page, "2026-Q3")
    cells = [cell.split("</td>", 1)[0] for cell in taken.split("<td>")[1:]]
    assert cells[3].startswith("unknown"), cells  # records: never blank
    assert cells[4] == "unknown", cells  # opt-out excluded: not a known 0
    assert "operatie: 9" not in taken  # the run's counts are the next version's (0380)


def test_status_says_unknown_for_a_taken_version_and_the_counts_of_a_hand_over(
    tmp_path: Path,
) -> None:
    env = _home(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", "status", "--on", "2026-11-01"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    q1 = next(line for line in lines if f" {REG} 2026-Q1 v1 " in line)
    assert "operatie 7; opt-out excluded 2" in q1, q1
    q3 = next(line for line in lines if f" {REG} 2026-Q3 v1 " in line)
    assert "(records unknown:" in q3 and "opt-out excluded 0" not in q3, q3
    assert "(; " not in q3, q3
