"""Record digests per version: keyed, compact, and looked up in the other periods (0465, 0467).

Which other version counts: the one the registry holder holds (or will be
sent) stops the run; an earlier one only says the record moved; a retraction
holds nothing; a version without digests is unknown.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from aanlevering.catalogue.model import DataDictionary
from aanlevering.deliver.events import DeliveryReceipted, DeliveryStaged, delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.deliver.record_digests import (
    digest_events,
    place_records,
    record_delivered_digests,
    record_digests,
)
from aanlevering.events.store import EventStore
from aanlevering.extract.model import Extract, ExtractedDataset
from aanlevering.fhir.ids import RecordKeys
from aanlevering.output.record_keys import hash_record_keys
from aanlevering.periods import Period

REG = "dica-dsaa"
SECRET = b"s" * 32


class _Dataset:
    def __init__(self, name: str, key: tuple[str, ...]) -> None:
        self.name = name
        self.key = key
        self.relations = ()


class _Dictionary:
    """What hashing and digests ask of a dictionary: each dataset's key variables."""

    def dataset(self, name: str) -> _Dataset:
        return _Dataset(name, ("operatie_id",) if name == "operatie" else ())


def _extract(ids: list[str | None]) -> Extract:
    table = pa.table({"operatie_id": pa.array(ids, pa.string())})
    dataset = ExtractedDataset(
        "operatie", table, pa.table({"x": [0] * len(ids)}), pa.array([""] * len(ids))
    )
    other = ExtractedDataset("los", pa.table({"y": [1]}), pa.table({"x": [0]}), pa.array([""]))
    return Extract(REG, Period.parse("2026-Q2"), "csv", {"operatie": dataset, "los": other})


def _digests(ids: list[str | None], provider: str = "hospital-a") -> dict[str, np.ndarray]:
    dictionary: DataDictionary = _Dictionary()  # type: ignore[assignment]
    keys = RecordKeys(SECRET, REG, provider)
    return record_digests(hash_record_keys(_extract(ids).datasets, dictionary, keys), dictionary)


def _version(store: EventStore, period: str, version: int, ids: list[str], **options: str) -> None:
    key = f"hospital-a.{REG}.{period}.v{version}"
    kind = options.get("kind", "delivery")
    if kind == "delivery" and options.get("digests", "yes") == "yes":
        record_delivered_digests(store, REG, period, version, _digests(list(ids)))
    store.append(
        delivery_stream(REG, period),
        [
            DeliveryStaged(
                registration=REG,
                period=period,
                version=version,
                idempotency_key=key,
                channel="https",
                format="csv",
                kind=kind,
            )
        ],
        None,
    )
    if options.get("receipted", "yes") == "yes":
        store.append(
            delivery_stream(REG, period),
            [
                DeliveryReceipted(
                    registration=REG,
                    period=period,
                    version=version,
                    idempotency_key=key,
                    receipt_id=f"r-{period}-{version}",
                    receiver="dica",
                    channel="https",
                    received_at=f"{date(2026, 11, 1).isoformat()}T00:00:00+00:00",
                )
            ],
            None,
        )


def test_digests_are_keyed_distinct_sorted_and_never_the_ids() -> None:
    digests = _digests(["OK1", "OK2", "OK2", None])
    assert set(digests) == {"operatie"}  # a dataset without a key is not followed
    values = digests["operatie"]
    assert len(values) == 2 and list(values) == sorted(values)
    other_hospital = _digests(["OK1", "OK2"], provider="hospital-b")
    assert not set(values) & set(other_hospital["operatie"])
    keys = RecordKeys(SECRET, REG, "hospital-a")
    delivered = sorted(keys.make("operatie.operatie_id", k)[:16] for k in ("OK1", "OK2"))
    events = digest_events(REG, "2026-Q1", 1, digests)
    assert [e.records for e in events] == [2]
    assert events[0].digests == "".join(delivered)  # the delivered keys' first 8 bytes
    assert "OK1" not in events[0].digests
    assert digest_events(REG, "2026-Q1", 1, digests)[0].event_id == events[0].event_id


def test_digests_are_recorded_in_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    import aanlevering.deliver.record_digests as module

    values = {"operatie": np.arange(5, dtype=np.uint64)}
    monkeypatch.setattr(module, "PART_SIZE", 2)
    events = digest_events(REG, "2026-Q1", 1, values)
    assert [(e.part, e.parts, e.records) for e in events] == [(1, 3, 2), (2, 3, 2), (3, 3, 1)]
    assert "".join(e.digests for e in events) == values["operatie"].astype(">u8").tobytes().hex()


def test_the_held_version_stops_an_earlier_one_says_moved(store: EventStore) -> None:
    _version(store, "2026-Q1", 1, ["OK1", "OK2", "OK3"])
    ours = _digests(["OK3", "OK9"])
    placed = place_records(store, load_ledger(store), REG, "2026-Q2", ours)
    assert [(h.period, h.version, dict(h.records)) for h in placed.held_elsewhere] == [
        ("2026-Q1", 1, {"operatie": 1})
    ]
    _version(store, "2026-Q1", 2, ["OK1", "OK2"])  # the correction leaves OK3 out
    placed = place_records(store, load_ledger(store), REG, "2026-Q2", ours)
    assert placed.held_elsewhere == () and placed.moved_from == {"2026-Q1": 1}
    # the run's own period is never "elsewhere"
    assert place_records(store, load_ledger(store), REG, "2026-Q1", ours).held_elsewhere == ()


def test_a_correction_not_yet_receipted_leaves_the_receipted_version_held(
    store: EventStore,
) -> None:
    _version(store, "2026-Q1", 1, ["OK1", "OK2"])
    _version(store, "2026-Q1", 2, ["OK2"], receipted="no")  # the registry holder holds v1 yet
    placed = place_records(store, load_ledger(store), REG, "2026-Q2", _digests(["OK1"]))
    assert [(h.period, h.version) for h in placed.held_elsewhere] == [("2026-Q1", 1)]
    _version(store, "2026-Q1", 3, ["OK2"])  # a receipted correction without OK1
    placed = place_records(store, load_ledger(store), REG, "2026-Q2", _digests(["OK1"]))
    assert placed.held_elsewhere == () and placed.moved_from == {"2026-Q1": 1}


def test_a_staged_version_counts_a_retraction_holds_nothing_and_no_digests_is_unknown(
    store: EventStore,
) -> None:
    _version(store, "2026-Q1", 1, ["OK1"], receipted="no")  # the retry would still send it
    _version(store, "2026-Q3", 1, ["OK2"])
    _version(store, "2026-Q3", 2, [], kind="retraction")
    _version(store, "2026-Q4", 1, ["OK3"], digests="no")  # delivered before decision 0465
    placed = place_records(
        store, load_ledger(store), REG, "2026-Q2", _digests(["OK1", "OK2", "OK3"])
    )
    assert [h.period for h in placed.held_elsewhere] == ["2026-Q1"]
    assert placed.moved_from == {"2026-Q3": 1}  # withdrawn, so no double: it moved
    assert placed.unknown == ("2026-Q4",)
