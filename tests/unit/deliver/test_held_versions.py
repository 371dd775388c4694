"""What the receiver holds, as the run compares it with the log (decision 0460).

A version the receiver holds that this log never staged is folded into the
ledger once recorded (receipted, content unknown), so the next run plans
past it; only this provider's keys of this period count as held.
"""

from __future__ import annotations

from pathlib import Path

from aanlevering.deliver.events import (
    DeliveryReceipted,
    DeliveryStaged,
    DeliveryVersionTaken,
    delivery_stream,
)
from aanlevering.deliver.held import HeldVersion, Holdings, keep_own, version_of_key
from aanlevering.deliver.ledger import load_ledger, load_period_ledger
from aanlevering.events.factory import open_event_store
from aanlevering.pipeline.operations import _next_version

KEY = "demo-hospital.ldtr.2026-03.v{}"


def test_only_this_providers_keys_of_this_period_count() -> None:
    assert version_of_key(KEY.format(12), "demo-hospital", "ldtr", "2026-03") == 12
    for key in (
        "demo-hospital-2.ldtr.2026-03.v1",
        "demo-hospital.ldtr.2026-04.v1",
        "demo-hospital.ldtr.2026-03.v0",
        "demo-hospital.ldtr.2026-03.v01",
        "demo-hospital.ldtr.2026-03.v1.tmp",
        "demo-hospital.nkr-borst.2026-03.v1",
    ):
        assert version_of_key(key, "demo-hospital", "ldtr", "2026-03") is None, key
    found = [
        HeldVersion(2, KEY.format(2)),
        HeldVersion(3, "hospital-b.ldtr.2026-03.v3"),
        HeldVersion(1, KEY.format(1)),
        HeldVersion(4, KEY.format(5)),  # a key that is not its version's
    ]
    own = keep_own(found, "demo-hospital", "ldtr", "2026-03")
    assert [h.version for h in own] == [1, 2]
    held = Holdings("ldtr", "2026-03", own, "outbox")
    assert held.latest == HeldVersion(2, KEY.format(2))
    assert held.after(1) == (HeldVersion(2, KEY.format(2)),) and held.after(2) == ()


def test_a_held_version_never_staged_here_is_folded_and_planned_past(tmp_path: Path) -> None:
    stream = delivery_stream("ldtr", "2026-03")
    with open_event_store(f"sqlite://{tmp_path / 'events.sqlite3'}") as store:
        store.append(
            stream,
            [
                DeliveryStaged(
                    registration="ldtr",
                    period="2026-03",
                    version=1,
                    idempotency_key=KEY.format(1),
                    channel="https",
                    format="fhir-ndjson",
                    content_sha256="content-y",
                    provider="demo-hospital",
                ),
                DeliveryReceipted(
                    registration="ldtr",
                    period="2026-03",
                    version=1,
                    idempotency_key=KEY.format(1),
                    receipt_id="r-1",
                    receiver="holder",
                    channel="https",
                    received_at="2026-04-02T10:00:00+00:00",
                ),
                DeliveryVersionTaken(
                    registration="ldtr",
                    period="2026-03",
                    version=2,
                    idempotency_key=KEY.format(2),
                    receipt_id="r-2",
                    receiver="holder",
                    received_at="2026-05-02T10:00:00+00:00",
                    provider="demo-hospital",
                ),
            ],
            None,
        )
        entries = load_period_ledger(store, "ldtr", "2026-03").versions("ldtr", "2026-03")
        assert entries == load_ledger(store).versions("ldtr", "2026-03")
    assert [(e.version, e.status, e.content_sha256, e.receipt_id) for e in entries] == [
        (1, "receipted", "content-y", "r-1"),
        (2, "receipted", "", "r-2"),
    ]
    # Content Y again is no longer "already delivered": it is v3, superseding v2.
    assert _next_version(entries, "content-y") == (3, KEY.format(2), None)
