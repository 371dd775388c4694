"""A run delivers only with an opt-out register ingested from a recent export (decision 0475).

The register holds what the last ingests read: when the ingest DAG failed
for weeks, or an event-log restore lost the ingests after the backup, a run
delivered patients who had objected in the EHR. Real SQLite event log, real
extract of the fixture export; the TTP port is None, so any call to it fails.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.events import EventStore, open_event_store
from aanlevering.optout.freshness import OptOutRegisterStale
from aanlevering.optout.ingests import record_ingest
from aanlevering.optout.service import record_optouts
from aanlevering.optout.sources import OptOutEntry
from aanlevering.periods import Period
from aanlevering.pipeline import stages
from aanlevering.pipeline.run import Ports
from aanlevering.pipeline.state import MemoryRunState
from aanlevering.pseudonym.patient_ref import PatientRefHasher
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"
MRN = "ZH-0077"  # the fixture's pat-2, operated in 2026-Q2


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as opened:
        yield opened


def _extracted_run(
    tmp_path: Path, store: EventStore, today: date, effective_from: str = "2026-01-01"
) -> tuple[stages.RunContext, MemoryRunState]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "optout-rules.yaml").write_text(f"effective_from: {effective_from}\n")
    catalogue = str(REPO / "schemas" / "catalogue")
    settings = load_settings(
        {
            "AANLEVERING_DEMO_MODE": "yes",
            "AANLEVERING_HOME": str(home),
            "AANLEVERING_CATALOGUE": catalogue,
        }
    )
    config = load_catalogue(settings.catalogue_dir).get("dica-dsaa")
    export = tmp_path / "export"
    shutil.copytree(NL, export)
    outbox = tmp_path / "outbox"
    ports = Ports(store, None, lambda config, folder: OutboxChannel(outbox))  # type: ignore[arg-type]
    state = MemoryRunState(tmp_path / "run-1")
    state.update(
        **stages.initial_values(
            registration_id="dica-dsaa",
            period=Period.parse("2026-Q2"),
            run_id="1",
            today=today,
            input_path=export,
            outbox=outbox,
            allow_open_period=False,
            one_process=True,
        )
    )
    ctx = stages.RunContext.from_values(config, settings, ports, state.values())
    stages.extract(ctx, state)
    return ctx, state


def _ingest(store: EventStore, ctx: stages.RunContext, taken: datetime, mrn: str = MRN) -> None:
    """What ``optout ingest`` records: one patient's opt-out and the ingest fact."""
    ref = PatientRefHasher.from_settings(ctx.settings, store).mrn_ref(mrn)
    entries = [OptOutEntry(ref, date(2026, 5, 1), True)]
    result = record_optouts(store, entries)
    record_ingest(store, taken_at=taken, source="ehr-csv", entries=1, patients=result.patients)


def test_a_run_without_any_ingest_stops_before_the_optouts_are_applied(
    tmp_path: Path, store: EventStore
) -> None:
    ctx, state = _extracted_run(tmp_path, store, date(2026, 11, 1))

    with pytest.raises(OptOutRegisterStale, match="no opt-out export was ever ingested") as raised:
        stages.apply_optouts(ctx, state)

    assert "aanlevering optout ingest" in str(raised.value)
    assert "ingest-optouts DAG" in str(raised.value)
    assert MRN not in str(raised.value)
    assert "filtered" not in state.values().get("status", "")


def test_a_register_ingested_weeks_ago_stops_the_run_naming_when(
    tmp_path: Path, store: EventStore
) -> None:
    ctx, state = _extracted_run(tmp_path, store, date(2026, 11, 1))
    taken = datetime.now(UTC) - timedelta(days=20)
    _ingest(store, ctx, taken)

    with pytest.raises(OptOutRegisterStale) as raised:
        stages.apply_optouts(ctx, state)

    message = str(raised.value)
    assert f"taken {taken:%Y-%m-%d %H:%M} UTC" in message
    assert "within the last 36 hours (AANLEVERING_OPTOUT_MAX_AGE_HOURS)" in message
    assert "nothing of this run was sent" in message


def test_a_recent_ingest_lets_the_run_leave_the_patient_out(
    tmp_path: Path, store: EventStore
) -> None:
    ctx, state = _extracted_run(tmp_path, store, date(2026, 11, 1))
    _ingest(store, ctx, datetime.now(UTC) - timedelta(hours=3))

    summary = stages.apply_optouts(ctx, state)

    assert summary["excluded_optouts"] > 0


def test_the_max_age_is_configurable_per_installation(
    tmp_path: Path, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, state = _extracted_run(tmp_path, store, date(2026, 11, 1))
    _ingest(store, ctx, datetime.now(UTC) - timedelta(hours=3))
    monkeypatch.setenv("AANLEVERING_OPTOUT_MAX_AGE_HOURS", "2")

    with pytest.raises(OptOutRegisterStale, match="within the last 2 hours"):
        stages.apply_optouts(ctx, state)


def test_a_backfill_of_an_old_period_needs_the_register_of_now_not_of_its_day(
    tmp_path: Path, store: EventStore
) -> None:
    # The run's delivery day is long past, and the export was taken on it: the
    # register may have learned of objections since, which apply to this delivery too.
    ctx, state = _extracted_run(tmp_path, store, date(2026, 7, 15))
    _ingest(store, ctx, datetime(2026, 7, 15, 6, 0, tzinfo=UTC))

    with pytest.raises(OptOutRegisterStale, match="taken 2026-07-15 06:00 UTC"):
        stages.apply_optouts(ctx, state)


def test_a_register_gone_stale_mid_run_stops_it_before_the_ttp(
    tmp_path: Path, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, state = _extracted_run(tmp_path, store, date(2026, 11, 1))
    # Another patient's opt-out: the fixture's patients stay in the run.
    _ingest(store, ctx, datetime.now(UTC) - timedelta(hours=30), mrn="ZH-9999")
    stages.apply_optouts(ctx, state)  # 30 hours old: current enough under the default
    assert any(len(refs) for refs in state.load_patient_refs("filtered").values())
    # An Airflow task retried much later sees the same export as too old (here: a shorter limit).
    monkeypatch.setenv("AANLEVERING_OPTOUT_MAX_AGE_HOURS", "24")

    with pytest.raises(OptOutRegisterStale, match="within the last 24 hours"):
        stages.pseudonymise(ctx, state)  # the TTP port is None: a call to it would fail otherwise


def test_a_period_before_the_regime_needs_no_register(tmp_path: Path, store: EventStore) -> None:
    ctx, state = _extracted_run(tmp_path, store, date(2026, 11, 1), effective_from="2027-01-01")

    summary = stages.apply_optouts(ctx, state)  # no ingest at all: nothing to filter in 2026

    assert summary["excluded_optouts"] == 0


def test_after_a_restore_the_newer_export_not_in_the_log_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opt-outs lost in a restore of a recent backup: the age alone does not show it (0478)."""
    log = tmp_path / "events.sqlite3"
    backup = tmp_path / "backup.sqlite3"
    export = tmp_path / "optouts.csv"
    export.write_text("patientnummer;datum_registratie;scope\n", encoding="utf-8")
    with open_event_store(f"sqlite:///{log}") as store:
        ctx, state = _extracted_run(tmp_path, store, date(2026, 11, 1))
        _ingest(store, ctx, datetime.now(UTC) - timedelta(hours=5), mrn="ZH-9999")
    shutil.copyfile(log, backup)  # last night's backup
    taken = datetime.now(UTC) - timedelta(hours=1)
    with open_event_store(f"sqlite:///{log}") as store:
        _ingest(store, ctx, taken)  # this morning's export: the patient objected
    os.utime(export, (taken.timestamp(), taken.timestamp()))  # it stays where the DAG reads it
    shutil.copyfile(backup, log)  # the event log is restored from the backup
    monkeypatch.setenv("AANLEVERING_OPTOUT_SOURCE", str(export))

    with open_event_store(f"sqlite:///{log}") as store:
        ctx = replace(ctx, ports=replace(ctx.ports, store=store))
        with pytest.raises(OptOutRegisterStale) as raised:
            stages.apply_optouts(ctx, state)
        monkeypatch.setenv("AANLEVERING_OPTOUT_SOURCE", str(tmp_path / "elsewhere.csv"))
        stages.apply_optouts(ctx, state)  # no such export: the age alone is checked

    assert f"taken {taken:%Y-%m-%d %H:%M} UTC, later than the newest one in the register" in str(
        raised.value
    )
    assert "lost (e.g. in a restore of the event log)" in str(raised.value)
