"""Records that cannot be followed across periods are counted, never silently skipped (0495, 0496).

A dataset without a key variable, a missing key column or a record with an
empty key part has no digest, so a later run cannot see it delivered in
another period; an other period whose held version recorded no record keys
(older runs, or a version taken from the receiver with content this log never
had) cannot be checked. Both go into the run's accounting (run result, ledger,
status line), not only the log.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from aanlevering.catalogue.model import DataDictionary
from aanlevering.deliver.accounting import Accounting
from aanlevering.deliver.events import (
    DeliveryStaged,
    DeliveryVersionTaken,
    delivery_stream,
)
from aanlevering.deliver.ledger import load_ledger
from aanlevering.deliver.record_digests import (
    place_records,
    record_delivered_digests,
    record_digests,
    unfollowable_records,
)
from aanlevering.events.store import EventStore
from aanlevering.extract.model import ExtractedDataset
from aanlevering.fhir.ids import RecordKeys
from aanlevering.output.record_keys import hash_record_keys

REG = "dica-dsaa"
KEYS = {"operatie": ("operatie_id",), "pair": ("a", "b"), "los": (), "kwijt": ("k_id",)}


class _Dataset:
    def __init__(self, name: str) -> None:
        self.name = name
        self.key = KEYS[name]
        self.relations = ()


class _Dictionary:
    def dataset(self, name: str) -> _Dataset:
        return _Dataset(name)


DICTIONARY: DataDictionary = _Dictionary()  # type: ignore[assignment]


def _dataset(name: str, table: pa.Table) -> ExtractedDataset:
    rows = table.num_rows
    return ExtractedDataset(name, table, pa.table({"x": [0] * rows}), pa.array([""] * rows))


def _hashed(**tables: pa.Table) -> dict[str, ExtractedDataset]:
    keys = RecordKeys(b"s" * 32, REG, "hospital-a")
    datasets = {name: _dataset(name, table) for name, table in tables.items()}
    return hash_record_keys(datasets, DICTIONARY, keys)


def test_no_key_a_missing_key_column_and_empty_key_parts_are_counted() -> None:
    hashed = _hashed(
        operatie=pa.table({"operatie_id": pa.array(["OK1", None, "OK3", None], pa.string())}),
        pair=pa.table(
            {"a": pa.array(["x", None, None], pa.string()), "b": pa.array(["y", "z", None])}
        ),
        los=pa.table({"y": [1, 2]}),
        kwijt=pa.table({"other": [1, 2, 3]}),
    )
    assert unfollowable_records(hashed, DICTIONARY) == {
        "operatie": 2,
        "pair": 2,  # the record empty in both parts counts once
        "los": 2,
        "kwijt": 3,
    }
    followed = record_digests(hashed, DICTIONARY)
    assert {n: len(v) for n, v in followed.items()} == {"operatie": 2, "pair": 1}


def test_a_run_whose_keys_are_all_present_counts_nothing() -> None:
    hashed = _hashed(operatie=pa.table({"operatie_id": ["OK1", "OK2"]}))
    assert unfollowable_records(hashed, DICTIONARY) == {}


def _taken(store: EventStore, period: str, version: int) -> None:
    key = f"hospital-a.{REG}.{period}.v{version}"
    # This log staged (and recorded digests of) content the receiver does not hold.
    record_delivered_digests(
        store, REG, period, version, record_digests(_hashed(operatie=pa.table(
            {"operatie_id": ["OK1"]})), DICTIONARY)
    )  # fmt: skip
    store.append(
        delivery_stream(REG, period),
        [
            DeliveryStaged(
                registration=REG, period=period, version=version, idempotency_key=key,
                channel="https", format="csv",
            ),
            DeliveryVersionTaken(
                registration=REG, period=period, version=version, idempotency_key=key,
                receipt_id="r1", receiver="dica",
                received_at=f"{date(2026, 11, 1).isoformat()}T00:00:00+00:00",
            ),
        ],
        None,
    )  # fmt: skip


def test_a_version_taken_from_the_receiver_is_unknown_not_checked_by_our_digests(
    store: EventStore,
) -> None:
    _taken(store, "2026-Q1", 1)
    ours = record_digests(_hashed(operatie=pa.table({"operatie_id": ["OK1"]})), DICTIONARY)
    placed = place_records(store, load_ledger(store), REG, "2026-Q2", ours)
    assert placed.held_elsewhere == ()  # what the receiver holds is not what this log built
    assert placed.unknown == ("2026-Q1",)


def test_the_accounting_carries_both_to_the_ledger_and_the_status_line(
    store: EventStore,
) -> None:
    accounting = Accounting(
        records_read=5, delivered=5, not_followable={"los": 2}, unchecked_periods=("2026-Q1",)
    )
    assert Accounting.from_summary(accounting.as_summary()) == accounting
    line = accounting.describe()
    assert "not followable across periods: los 2" in line
    assert "not checked against 2026-Q1" in line
    key = f"hospital-a.{REG}.2026-Q2.v1"
    store.append(
        delivery_stream(REG, "2026-Q2"),
        [
            DeliveryStaged(
                registration=REG, period="2026-Q2", version=1, idempotency_key=key,
                channel="https", format="csv", accounting=accounting,
            )
        ],
        None,
    )  # fmt: skip
    entry = load_ledger(store).versions(REG, "2026-Q2")[-1]
    assert entry.accounting["not_followable"] == {"los": 2}
    assert entry.accounting["unchecked_periods"] == ["2026-Q1"]


def test_the_deliveries_page_shows_both() -> None:
    from aanlevering.airflow.deliveries_page import _accounting

    summary = Accounting(
        records_read=5, delivered=5, not_followable={"los": 2}, unchecked_periods=("2026-Q1",)
    ).as_summary()
    cell = _accounting({"accounting": summary})
    assert "not followable across periods: los 2" in cell
    assert "not checked against 2026-Q1" in cell


def test_the_deliveries_page_shows_linked_resources_of_another_patient_left_out() -> None:
    """Decision 0570's count is on the page where the engineer reads what was delivered."""
    from aanlevering.airflow.deliveries_page import _accounting

    summary = Accounting(records_read=5, delivered=5, other_patient={"trauma": 3}).as_summary()
    cell = _accounting({"accounting": summary})
    assert "linked resources of another patient left out: trauma 3" in cell
    assert "another patient" not in _accounting(
        {"accounting": Accounting(records_read=5, delivered=5).as_summary()}
    )
