"""The retry-unreceipted DAG retries every unreceipted delivery, whatever one of them does.

Why: the ledger keeps the unreceipted versions of every registration the log
ever saw. One whose registration has left the catalogue (or whose config no
longer loads) stopped the whole task before any other delivery was retried,
every hour, so a receiver's missing receipts were never chased again. Each
entry now ends in an outcome of its own; the task still fails, naming it.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from aanlevering.deliver.events import DeliveryStaged, delivery_stream
from aanlevering.events.factory import open_event_store
from aanlevering.runs.retry import retry_unreceipted
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]


def _staged(registration: str, period: str) -> DeliveryStaged:
    return DeliveryStaged(
        registration=registration,
        period=period,
        version=1,
        idempotency_key=f"demo-hospital.{registration}.{period}.v1",
        channel="https",
        format="csv",
        provider="demo-hospital",
    )


def test_an_entry_of_a_registration_that_left_the_catalogue_stops_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(REPO / "schemas" / "catalogue"))
    monkeypatch.setenv("AANLEVERING_TTP_URL", "http://127.0.0.1:9")  # never reached
    monkeypatch.setenv("AANLEVERING_TTP_API_KEY", "not-used")
    # Staged before 0665, so retried from the input setting (no demo fallback: 0705).
    monkeypatch.setenv("AANLEVERING_INPUT_DIR", str(tmp_path / "ehr"))
    settings = load_settings()
    with open_event_store(settings.event_store_url) as store:
        # "aaa-..." sorts first: before the fix it ended the task before dica-dsaa was tried.
        for registration, period in (("aaa-stopped-registry", "2026-Q1"), ("dica-dsaa", "2026-Q1")):
            store.append(delivery_stream(registration, period), [_staged(registration, period)], 0)

    outcomes = {o.idempotency_key: o for o in retry_unreceipted(today=date(2026, 5, 1))}

    gone = outcomes["demo-hospital.aaa-stopped-registry.2026-Q1.v1"]
    assert gone.status == "failed"
    assert "aaa-stopped-registry" in gone.detail and "unknown registration" in gone.detail
    # The other entry was retried: its run got as far as reading its (here missing) input.
    retried = outcomes["demo-hospital.dica-dsaa.2026-Q1.v1"]
    assert retried.status == "failed" and "does not exist" in retried.detail


def test_an_entry_whose_config_no_longer_loads_stops_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken registration file (0421) fails its own entries, not the whole task."""
    catalogue = tmp_path / "catalogue"
    shutil.copytree(REPO / "schemas" / "catalogue", catalogue)
    ldtr = catalogue / "registrations" / "ldtr.yaml"
    ldtr.write_text(
        ldtr.read_text(encoding="utf-8").replace("frequency: month", "frequency: weekly"),
        encoding="utf-8",
    )
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(catalogue))
    monkeypatch.setenv("AANLEVERING_TTP_URL", "http://127.0.0.1:9")  # never reached
    monkeypatch.setenv("AANLEVERING_TTP_API_KEY", "not-used")
    # Staged before 0665, so retried from the input setting (no demo fallback: 0705).
    monkeypatch.setenv("AANLEVERING_INPUT_DIR", str(tmp_path / "ehr"))
    settings = load_settings()
    with open_event_store(settings.event_store_url) as store:
        for registration, period in (("dica-dsaa", "2026-Q1"), ("ldtr", "2026-01")):
            store.append(delivery_stream(registration, period), [_staged(registration, period)], 0)

    outcomes = {o.idempotency_key: o for o in retry_unreceipted(today=date(2026, 5, 1))}

    broken = outcomes["demo-hospital.ldtr.2026-01.v1"]
    assert broken.status == "failed"
    assert "ldtr.yaml: $.frequency" in broken.detail
    retried = outcomes["demo-hospital.dica-dsaa.2026-Q1.v1"]
    assert retried.status == "failed" and "does not exist" in retried.detail
