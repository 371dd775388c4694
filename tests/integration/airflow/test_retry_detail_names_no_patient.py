"""The retry's outcome (which fails the hourly Airflow task) names no per-patient input (0730).

A version staged before 0730 recorded its input path as it was; one read from an
export folder named after a patient, since removed, failed its retry with the
path in the detail, and the task failed with that detail in the task log.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aanlevering.deliver.events import DeliveryStaged, delivery_stream
from aanlevering.events.factory import open_event_store
from aanlevering.runs.retry import retry_unreceipted
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
PATIENT_NUMBER = "0069386181"


def test_a_gone_per_patient_input_is_named_by_its_folder_in_the_retry_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(REPO / "schemas" / "catalogue"))
    monkeypatch.setenv("AANLEVERING_TTP_URL", "http://127.0.0.1:9")  # never reached
    monkeypatch.setenv("AANLEVERING_TTP_API_KEY", "not-used")
    staged = DeliveryStaged(
        registration="dica-dsaa", period="2026-Q1", version=1,
        idempotency_key="demo-hospital.dica-dsaa.2026-Q1.v1", channel="https", format="csv",
        provider="demo-hospital", input_path=f"{tmp_path}/exports/patient_{PATIENT_NUMBER}",
    )  # fmt: skip
    with open_event_store(load_settings().event_store_url) as store:
        store.append(delivery_stream("dica-dsaa", "2026-Q1"), [staged], 0)

    (outcome,) = retry_unreceipted(today=date(2026, 5, 1))

    assert outcome.status == "failed"
    assert "no longer exists" in outcome.detail
    assert f"{tmp_path}/exports/<an input file, no extension, name withheld>" in outcome.detail
    assert PATIENT_NUMBER not in outcome.detail
