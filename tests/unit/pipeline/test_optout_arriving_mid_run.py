"""An opt-out recorded after a run applied its opt-outs stops the run before the TTP and the send.

Airflow runs each stage as its own task, hours (or, with retries, days) apart.
A patient who opts out after ``apply_optouts`` is still in the run's data; the
TTP must not be offered the patient and the receiver must not get the
delivery. Checked again right before pseudonymisation and before every send
attempt, like the register decision. Real SQLite event log, real extract of the
fixture export, the real outbox channel.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.events import DeliveryStaged, delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.deliver.manifest import Manifest, write_manifest
from aanlevering.errors import OptOutArrived
from aanlevering.events import EventStore, open_event_store
from aanlevering.optout.ingests import record_ingest
from aanlevering.optout.service import record_optouts
from aanlevering.optout.sources import OptOutEntry
from aanlevering.periods import Period
from aanlevering.pipeline import stages
from aanlevering.pipeline.lock import acquire
from aanlevering.pipeline.run import Ports
from aanlevering.pipeline.state import MemoryRunState, make_private_dir
from aanlevering.pseudonym.patient_ref import PatientRefHasher
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"
MRN = "ZH-0077"  # the fixture's pat-2
TODAY = date(2027, 2, 1)


def _run_with_optouts_applied(
    tmp_path: Path, store: EventStore
) -> tuple[stages.RunContext, MemoryRunState, str]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "optout-rules.yaml").write_text("effective_from: 2026-01-01\n")
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
            period=Period.parse("2026-Q2"),  # pat-2 operated in Q2 (a quarterly registration, 0391)
            run_id="1",
            today=TODAY,
            input_path=export,
            outbox=outbox,
            allow_open_period=False,
            one_process=True,
        )
    )
    ctx = stages.RunContext.from_values(config, settings, ports, state.values())
    # The register is current: an export taken now was ingested (decision 0475).
    record_ingest(store, taken_at=datetime.now(UTC), source="ehr-csv", entries=0, patients=0)
    acquire(store, ctx.lock_scope, ctx.run_id)  # the run holds its period, as check_obligation does
    stages.extract(ctx, state)
    stages.apply_optouts(ctx, state)
    ref = PatientRefHasher.from_settings(settings, store).mrn_ref(MRN)
    refs = state.load_patient_refs("filtered")
    assert any(ref in array.to_pylist() for array in refs.values())  # the patient is in the run
    # The patient opts out while the run is under way (registered before the delivery day).
    record_optouts(store, [OptOutEntry(ref, date(2027, 1, 20), True)])
    return ctx, state, ref


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as opened:
        yield opened


def test_pseudonymise_refuses_a_patient_who_opted_out_after_apply_optouts(
    tmp_path: Path, store: EventStore
) -> None:
    ctx, state, ref = _run_with_optouts_applied(tmp_path, store)

    with pytest.raises(OptOutArrived, match="1 patient") as raised:
        stages.pseudonymise(ctx, state)  # the TTP port is None: any call to it would fail

    assert MRN not in str(raised.value) and ref not in str(raised.value)
    assert not state.path.exists()  # the run's data (with the patient) is gone


def test_deliver_sends_nothing_when_a_patient_opted_out_after_apply_optouts(
    tmp_path: Path, store: EventStore
) -> None:
    ctx, state, ref = _run_with_optouts_applied(tmp_path, store)
    key = "demo-hospital.dica-dsaa.2026-Q2.v1"
    manifest = Manifest(
        idempotency_key=key, registration="dica-dsaa", registry_holder="dica", period="2026-Q2",
        period_start="2026-04-01", period_end="2026-07-01", version=1, dictionary_id="dsaa",
        dictionary_version="1", format="fhir-ndjson", normalisation_profile="nl-v1",
        pseudonym_types=(), key_versions={}, ttp_mode="none", provider_id="demo-hospital",
        files=(), record_counts={},
    )  # fmt: skip
    make_private_dir(state.out)
    write_manifest(state.out, manifest)
    staged = DeliveryStaged(
        registration="dica-dsaa", period="2026-Q2", version=1, idempotency_key=key,
        channel="outbox", format="fhir-ndjson", content_sha256="x", provider="demo-hospital",
    )  # fmt: skip
    store.append(delivery_stream("dica-dsaa", "2026-Q2"), [staged], None)

    with pytest.raises(OptOutArrived, match="1 patient") as raised:
        stages.deliver(ctx, state)

    assert MRN not in str(raised.value) and ref not in str(raised.value)
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").rglob("*"))
    entry = load_ledger(store).current("dica-dsaa", "2026-Q2")
    assert entry is not None and entry.status == "aborted"
    assert not state.path.exists()
