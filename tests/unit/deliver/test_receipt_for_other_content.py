"""A receipt for other content is said as such, never as "refused by the registry holder" (0842).

The pipeline's receipt check (decision 0221) refuses a receipt that does not
name exactly what was sent (provider, key, manifest sha256, record counts).
The ledger then showed the version as ``rejected``: ``aanlevering status`` and
the Deliveries page said "refused by the registry holder N", the calendar
cell "the registry holder refused version 1 ... new data needed". The holder
did not refuse it: it answered the commit with a receipt, so it may hold the
version. The engineer must read what did not match and what to do.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.accounting import Accounting
from aanlevering.deliver.events import DeliveryStaged, delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.deliver.manifest import Manifest, describe_files, idempotency_key
from aanlevering.deliver.receipt import Receipt, ReceiptMismatch
from aanlevering.deliver.service import send_with_retries
from aanlevering.events.factory import open_event_store
from aanlevering.events.store import EventStore
from aanlevering.settings import checkout_root

REG = "dica-dsaa"
PERIOD = "2026-Q1"
KEY = idempotency_key("hospital-a", REG, PERIOD, 1)


def _manifest(folder: Path) -> Manifest:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.csv").write_text("a;b\n1;2\n1;3\n")
    return Manifest(
        idempotency_key=KEY, registration=REG, registry_holder="dica", period=PERIOD,
        period_start="2026-01-01", period_end="2026-04-01", version=1, dictionary_id="dsaa",
        dictionary_version="2026.1", format="csv", normalisation_profile="nl-2026.1",
        pseudonym_types=("NGGV",), key_versions={"NGGV": 1}, ttp_mode="web",
        provider_id="hospital-a", files=describe_files(folder, {"data.csv": 2}, {}),
        record_counts={"operatie": 2},
    )  # fmt: skip


class _OtherCounts:
    """A receiver that stores the delivery and answers with a receipt of other counts."""

    name = "https"

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        return Receipt(
            idempotency_key=manifest.idempotency_key, receipt_id="r-odd",
            received_at="2026-11-22T10:00:00+00:00", receiver="dica", channel="https",
            record_counts={"operatie": 7}, provider=manifest.provider_id,
            manifest_sha256=manifest.provider_sha256(),
        )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")


def test_a_receipt_for_other_content_says_so_and_what_to_do(
    store: EventStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from aanlevering.airflow.deliveries_page import render
    from aanlevering.cli.main import main
    from aanlevering.obligation.calendar_view import calendars
    from aanlevering.projections import build_projections

    manifest = _manifest(tmp_path / "staging")
    staged = DeliveryStaged(
        registration=REG, period=PERIOD, version=1, idempotency_key=KEY, channel="https",
        format="csv", record_counts={"operatie": 2}, content_sha256="c", provider="hospital-a",
        accounting=Accounting(records_read=2, patients=2, delivered=2),
    )  # fmt: skip
    store.append(delivery_stream(REG, PERIOD), [staged], None)
    with pytest.raises(ReceiptMismatch, match="record counts: expected"):
        send_with_retries(_OtherCounts(), tmp_path / "staging", manifest, store, attempts=1)

    (entry,) = load_ledger(store).versions(REG, PERIOD)
    assert entry.receipt_mismatch and entry.may_reach_holder  # it answered: it may hold it
    root = checkout_root()
    assert root is not None
    catalogue = load_catalogue(str(root / "schemas" / "catalogue"))
    document = build_projections(store, catalogue, date(2026, 12, 1))
    (row,) = document["deliveries"]
    note = row["receipt_mismatch"]
    assert "receipt did not match what was sent" in note, note
    assert "record counts: expected {'operatie': 2}, got {'operatie': 7}" in note, note
    assert f"ask the registry holder what it holds under {KEY}" in note, note
    assert row["accounting"]["refused"] == 0 and row["accounting"]["unreceipted"] == 2

    (calendar,) = calendars(document, REG)
    (cell,) = [c for c in calendar.cells if c.period == PERIOD]
    assert "refused" not in cell.hover() and "receipt did not match" in cell.hover()
    page = render(document, tmp_path, REG)
    assert "refused by the registry holder" not in page and "receipt did not match" in page

    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", f"sqlite:///{tmp_path / 'events.sqlite3'}")
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(root / "schemas" / "catalogue"))
    capsys.readouterr()
    assert main(["status", "--on", "2026-12-01", "--registration", REG]) == 0
    out = capsys.readouterr().out
    assert "refused by the registry holder" not in out, out
    assert "!! " in out and "receipt did not match what was sent" in out, out


def test_a_refusal_is_still_a_refusal(store: EventStore, tmp_path: Path) -> None:
    from aanlevering.deliver.receipt import RejectedDelivery

    class _Refuses:
        name = "https"

        def send(self, folder: Path, manifest: Manifest) -> Receipt:
            raise RejectedDelivery("HTTP 422: checksum of data.csv differs")

    manifest = _manifest(tmp_path / "staging")
    staged = DeliveryStaged(
        registration=REG, period=PERIOD, version=1, idempotency_key=KEY, channel="https",
        format="csv",
    )  # fmt: skip
    store.append(delivery_stream(REG, PERIOD), [staged], None)
    with pytest.raises(RejectedDelivery):
        send_with_retries(_Refuses(), tmp_path / "staging", manifest, store, attempts=1)
    (entry,) = load_ledger(store).versions(REG, PERIOD)
    assert entry.status == "rejected"
    assert not entry.receipt_mismatch and not entry.may_reach_holder
