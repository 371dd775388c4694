"""A damaged or foreign row in the event log stops the projection, naming where it is.

Why it matters: the opt-out register and the delivery ledger are folded from
the log. A row written by a newer release, restored from a broken backup or
typed in a SQL shell must not be skipped (an opt-out would be forgotten) nor
crash with a bare ``KeyError``/``TypeError`` that names nothing: the error
says the stream, its version and the log position, so an engineer can find
the row (``aanlevering events tail``), and never quotes the payload.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from aanlevering.deliver.events import DeliveryStaged
from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import EventStoreError
from aanlevering.events import EventStore
from aanlevering.optout.register import OptOutRegister

STREAM = "optout-pr_00000000000000000000000000000001"
REF = "pr_00000000000000000000000000000001"


def _insert(
    url: str, *, stream: str, version: int, kind: str, schema: int, payload: str, position: int = 1
) -> None:
    """Write one row the way another release (or a SQL shell) would, outside the store's API."""
    row: dict[str, Any] = {
        "position": position,
        "event_id": str(uuid.uuid4()),
        "stream": stream,
        "version": version,
        "event_type": kind,
        "schema_version": schema,
        "occurred_at": "2026-02-01T09:00:00+00:00",
        "recorded_at": "2026-02-01T09:00:01+00:00",
        "payload": payload,
        "metadata": "{}",
    }
    columns = ", ".join(row)
    if url.startswith("sqlite"):
        lite = sqlite3.connect(Path("/" + url[len("sqlite:///") :].lstrip("/")))
        try:
            marks = ", ".join("?" for _ in row)
            lite.execute(f"INSERT INTO event_log ({columns}) VALUES ({marks})", list(row.values()))
            lite.commit()
        finally:
            lite.close()
        return
    marks = ", ".join("%s::jsonb" if name in ("payload", "metadata") else "%s" for name in row)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            f"INSERT INTO event_log ({columns}) VALUES ({marks})", list(row.values())
        )


def _optout_payload(**changes: Any) -> str:
    payload = {"patient_ref": REF, "registered_on": "2026-01-05", "all_registrations": True}
    payload.update(changes)
    return json.dumps(payload)


def _names_the_row(message: str, stream: str = STREAM, version: int = 1, position: int = 1) -> None:
    assert f"stream {stream!r}" in message
    assert f"version {version}" in message and f"position {position}" in message
    assert REF not in message or stream.endswith(REF)  # the payload is never quoted


def test_an_optout_written_by_a_newer_release_names_its_stream_and_version(
    store: EventStore, store_url: str
) -> None:
    _insert(
        store_url,
        stream=STREAM,
        version=1,
        kind="optout.OptOutRegistered",
        schema=9,
        payload=_optout_payload(),
    )
    with pytest.raises(EventStoreError, match="newer than this code") as refused:
        OptOutRegister.load(store)
    _names_the_row(str(refused.value))


def test_an_optout_with_an_undecodable_field_names_its_stream_and_version(
    store: EventStore, store_url: str
) -> None:
    _insert(
        store_url,
        stream=STREAM,
        version=1,
        kind="optout.OptOutRegistered",
        schema=1,
        payload=_optout_payload(registered_on="5 januari"),
    )
    with pytest.raises(EventStoreError, match="registered_on") as refused:
        OptOutRegister.load(store)
    _names_the_row(str(refused.value))
    assert "5 januari" not in str(refused.value)


def test_an_optout_whose_payload_is_no_json_object_is_an_error_not_a_type_error(
    store: EventStore, store_url: str
) -> None:
    _insert(
        store_url,
        stream=STREAM,
        version=1,
        kind="optout.OptOutRegistered",
        schema=1,
        payload=json.dumps([REF, "2026-01-05"]),
    )
    with pytest.raises(EventStoreError, match="JSON object") as refused:
        OptOutRegister.load(store)
    _names_the_row(str(refused.value))


def test_a_receipt_missing_a_field_stops_the_ledger_naming_the_row(
    store: EventStore, store_url: str
) -> None:
    stream = "delivery-dica-dsaa-2026-Q1"
    key = "demo-hospital.dica-dsaa.2026-Q1.v1"
    staged = DeliveryStaged(
        registration="dica-dsaa",
        period="2026-Q1",
        version=1,
        idempotency_key=key,
        channel="outbox",
        format="csv",
    )
    store.append(stream, [staged], 0)
    _insert(
        store_url,
        stream=stream,
        version=2,
        position=2,
        kind="deliver.DeliveryReceipted",
        schema=1,
        payload=json.dumps({"registration": "dica-dsaa", "idempotency_key": key}),
    )
    with pytest.raises(EventStoreError, match="receipt_id") as refused:
        load_ledger(store)
    _names_the_row(str(refused.value), stream, version=2, position=2)


def test_a_sqlite_row_whose_payload_is_not_json_names_its_stream_and_version(
    tmp_path: Path,
) -> None:
    from aanlevering.events import open_event_store

    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    with open_event_store(url) as store:
        _insert(
            url,
            stream=STREAM,
            version=1,
            kind="optout.OptOutRegistered",
            schema=1,
            payload='{"patient_ref": "' + REF + '", "registered_on": ',
        )
        with pytest.raises(EventStoreError, match="not valid JSON") as refused:
            OptOutRegister.load(store)
    _names_the_row(str(refused.value))


def test_a_receipt_written_by_a_newer_release_is_not_folded_as_if_it_were_current(
    store: EventStore, store_url: str
) -> None:
    """A worker not yet upgraded must not read a newer payload shape as its own."""
    stream = "delivery-dica-dsaa-2026-Q2"
    key = "demo-hospital.dica-dsaa.2026-Q2.v1"
    staged = DeliveryStaged(
        registration="dica-dsaa",
        period="2026-Q2",
        version=1,
        idempotency_key=key,
        channel="https",
        format="fhir",
    )
    store.append(stream, [staged], 0)
    receipted = {
        "registration": "dica-dsaa",
        "period": "2026-Q2",
        "version": 1,
        "idempotency_key": key,
        "receipt_id": "r-1",
        "receiver": "holder",
        "channel": "https",
        "received_at": "2026-07-02T10:00:00+00:00",
    }
    _insert(
        store_url,
        stream=stream,
        version=2,
        position=2,
        kind="deliver.DeliveryReceipted",
        schema=7,
        payload=json.dumps(receipted),
    )
    with pytest.raises(EventStoreError, match="newer than this code") as refused:
        load_ledger(store)
    _names_the_row(str(refused.value), stream, version=2, position=2)
