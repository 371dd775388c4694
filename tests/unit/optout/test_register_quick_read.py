"""The register reads opt-out payloads directly; it must see what the decoder sees."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from aanlevering.events.sqlite import SqliteEventStore
from aanlevering.optout.events import OptOutRegistered, OptOutWithdrawn, optout_stream
from aanlevering.optout.register import _fact, _read_quickly


def _events(count: int) -> list[OptOutRegistered | OptOutWithdrawn]:
    rng = random.Random(5)
    events: list[OptOutRegistered | OptOutWithdrawn] = []
    for i in range(count):
        ref = f"pr_{rng.getrandbits(128):032x}"
        on = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
        scope = frozenset(rng.sample(["dica-dsaa", "ldtr", "nkr-borst"], rng.randint(0, 2)))
        registered = OptOutRegistered(
            patient_ref=ref, registered_on=on, all_registrations=not scope, registrations=scope
        )
        events.append(registered)
        if i % 3 == 0:
            events.append(
                OptOutWithdrawn(
                    patient_ref=ref,
                    registered_on=on,
                    all_registrations=not scope,
                    registrations=scope,
                    withdrawn_on=on + timedelta(days=10),
                )
            )
    return events


def test_quick_read_equals_the_decoded_event(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite")
    events = _events(300)
    for event in events:
        store.append(optout_stream(event.patient_ref), [event], None)
    records = [r for r in store.read_all() if r.event_type.startswith("optout.OptOut")]
    assert len(records) == len(events)
    for record in records:
        quick = _read_quickly(record)
        assert quick is not None
        assert quick == _fact(record.to_event())


def test_unexpected_payloads_take_the_decoder(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite")
    event = _events(1)[0]
    store.append(optout_stream(event.patient_ref), [event], None)
    record = next(iter(store.read_all()))
    odd = [
        {**record.payload, "registered_on": 20260101},
        {**record.payload, "registrations": "ldtr"},
        {**record.payload, "all_registrations": "yes"},
        {k: v for k, v in record.payload.items() if k != "patient_ref"},
        {**record.payload, "registered_on": "not a date"},
    ]
    for payload in odd:
        assert _read_quickly(replace(record, payload=payload)) is None
    assert _read_quickly(replace(record, schema_version=record.schema_version + 1)) is None
