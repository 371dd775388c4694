"""``status`` and the Deliveries page name a receipted delivery the register did not allow.

(Decisions 0644 and 0645.)

DSAA delivers before any decision (``before_inclusion: deliver``). Its 2026-Q2
was receipted on 2026-07-03; a negative decision effective 2026-07-01 reached
the log only on 2026-07-06 (the feed was ingested late). The registry holder
holds that period without a legal basis, yet the status said "ok delivered"
and nothing else: the data engineer had no reason to retract it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from aanlevering.airflow.deliveries_page import deliveries_document, render
from aanlevering.deliver.events import DeliveryReceipted, DeliveryStaged, delivery_stream
from aanlevering.events.factory import open_event_store
from aanlevering.obligation.decisions import RegisterDecision
from aanlevering.obligation.service import record_decisions
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]


def _delivered(store, period: str, received: str, version: int = 1, kind: str = "delivery") -> None:  # type: ignore[no-untyped-def]
    key = f"demo-hospital.dica-dsaa.{period}.v{version}"
    common = {"registration": "dica-dsaa", "period": period, "version": version}
    common["idempotency_key"] = key
    store.append(
        delivery_stream("dica-dsaa", period),
        [
            DeliveryStaged(
                **common, channel="https", format="csv", provider="demo-hospital", kind=kind
            ),
            DeliveryReceipted(
                **common,
                receipt_id=f"r-{period}",
                receiver="dica",
                channel="https",
                received_at=received,
                provider="demo-hospital",
            ),
        ],
        None,
    )


def _home_with_a_delivery_after_a_rejection(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "AANLEVERING_HOME": str(tmp_path / "home"),
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    env.pop("AANLEVERING_EVENT_STORE", None)
    with open_event_store(load_settings(env).event_store_url) as store:
        _delivered(store, "2026-Q1", "2026-04-02T08:00:00+00:00")  # allowed then
        _delivered(store, "2026-Q2", "2026-07-03T08:00:00+00:00")  # after the decision
        _delivered(store, "2026-Q3", "2026-07-03T09:00:00+00:00")  # a year-to-date delivery,
        _delivered(store, "2026-Q3", "2026-07-04T09:00:00+00:00", 2, "retraction")  # withdrawn
        record_decisions(
            store,
            [RegisterDecision("dica-dsaa", "rejected", date(2026, 7, 1), note="ZIN-2026-114")],
        )
    return env


def test_status_names_a_delivery_received_after_a_negative_decision_took_effect(
    tmp_path: Path,
) -> None:
    env = _home_with_a_delivery_after_a_rejection(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", "status", "--on", "2026-07-06",
         "--registration", "dica-dsaa"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    q1 = next(i for i, line in enumerate(lines) if "dica-dsaa 2026-Q1 v1 receipted" in line)
    q2 = next(i for i, line in enumerate(lines) if "dica-dsaa 2026-Q2 v1 receipted" in line)
    assert "without a legal basis" not in " ".join(lines[q1 : q1 + 2])
    flagged = " ".join(lines[q2 + 1 : q2 + 3])
    assert "received 2026-07-03 without a legal basis" in flagged
    assert "negative register decision" in flagged and "aanlevering retract" in flagged
    assert done.stdout.count("without a legal basis") == 1  # not the withdrawn 2026-Q3


def test_the_deliveries_page_warns_above_the_calendar_with_the_retract_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engineer watches the Airflow page: it must say what ``status`` says (0645)."""
    env = _home_with_a_delivery_after_a_rejection(tmp_path)
    for name in ("AANLEVERING_HOME", "AANLEVERING_CATALOGUE"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("AANLEVERING_EVENT_STORE", raising=False)
    page = render(deliveries_document(date(2026, 7, 6)), tmp_path, only="dica-dsaa")
    section = page.split("id='dica-dsaa'", 1)[1]
    warnings = section.split("class='without-legal-basis'")[1:]
    assert len(warnings) == 1, page  # 2026-Q2 only: Q1 was allowed, Q3 was withdrawn
    assert "2026-Q2 v1: received 2026-07-03 without a legal basis" in warnings[0]
    assert "aanlevering retract --registration dica-dsaa --period 2026-Q2" in warnings[0]
    assert section.index("without-legal-basis") < section.index("<table class='cal'")
