"""The actor on the hospital's delivery events: OS user, Airflow run, explicit; old ones decode."""

from __future__ import annotations

import getpass
from pathlib import Path

from test_send_with_retries import _stage

from aanlevering.actor import current_actor
from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.events import DeliveryReceipted, delivery_stream
from aanlevering.deliver.service import send_with_retries
from aanlevering.events.codec import decode_payload, encode_payload
from aanlevering.events.factory import open_event_store


def test_actor_from_environment() -> None:
    assert current_actor({}) == f"os:{getpass.getuser()}"
    airflow = {"AIRFLOW_CTX_DAG_ID": "deliver_dica-dsaa", "AIRFLOW_CTX_DAG_RUN_ID": "manual__x"}
    # Outside a running task Airflow names no triggering user: the DAG run alone.
    assert current_actor(airflow) == "airflow:deliver_dica-dsaa/manual__x"
    explicit = {**airflow, "AANLEVERING_ACTOR": "svc aanlevering\n<script>"}
    assert current_actor(explicit) == "svc_aanlevering__script_"


def test_delivery_events_carry_the_actor(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AANLEVERING_ACTOR", "os:operator-7")
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    manifest = _stage(tmp_path / "staging")
    send_with_retries(OutboxChannel(tmp_path / "outbox"), tmp_path / "staging", manifest, store)
    events = list(store.read_stream(delivery_stream(manifest.registration, manifest.period)))
    assert [e.payload["actor"] for e in events] == ["os:operator-7"]


def test_events_written_before_actors_decode_with_none() -> None:
    event = DeliveryReceipted(
        registration="dica-dsaa",
        period="2026-Q1",
        version=1,
        idempotency_key="demo-hospital.dica-dsaa.2026-Q1.v1",
        receipt_id="r",
        receiver="x",
        channel="https",
        received_at="2026-04-01T00:00:00+00:00",
        actor="os:someone",
    )
    payload = encode_payload(event)
    assert payload["actor"] == "os:someone"
    old = {k: v for k, v in payload.items() if k != "actor"}
    assert decode_payload(DeliveryReceipted, old).actor is None
