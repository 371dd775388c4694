"""A transaction Bundle whose entries carry only a ``urn:uuid:`` fullUrl is delivered as resources.

Decision 0560 through the CLI, as a hospital runs it: the NKR breast cancer
registration (``fhir_content: resources``, Bundles to the registry holder through
the reference TTP) reads the demo export rewritten as the transaction that creates
its resources: no resource has an id, each entry is a POST identified by its
``fullUrl`` ``urn:uuid:<uuid>``, and every reference between entries is written
as that ``urn:uuid:``. Before 0560 the run stopped (decision 0541: a record's own
resource without an id). Now it must deliver every record and count it in the
ledger and the registry holder's receipt, every delivered resource valid R4B,
every reference resolving inside its Bundle, and no source uuid, id or identifier
of the input in the delivery, the reports or what the run printed.

The uuid is read as the resource's id, so the same export with those uuids as
ids delivers the same bytes, and a rerun of the export does too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.ledger import LedgerEntry, load_ledger
from aanlevering.demo.generator import DemoOptions, generate_demo_data
from conftest import CATALOGUE, World, fhir_identity_values
from support.leaks import LeakFinder
from support.nkr_tumours import is_tumour
from support.transaction_bundles import entry_uuid, transaction_folder

REGISTRATION = "nkr-borst"
PERIOD = "2026"
DATASET = "tumor"


@pytest.fixture(scope="module")
def demo(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small NKR demo export, and NKR's inclusion registered (it waits for it otherwise)."""
    out = tmp_path_factory.mktemp("nkr-demo") / "demo"
    options = DemoOptions(
        out_dir=out, patients=24, seed=43, bad_share=0, registrations=(REGISTRATION,)
    )
    generate_demo_data(load_catalogue(CATALOGUE), options)
    world.include(REGISTRATION)
    return out


def _source(demo: Path) -> list[dict[str, Any]]:
    """The resources of the demo's Bundle export (with their ids)."""
    found: list[dict[str, Any]] = []
    for path in sorted((demo / "fhir-bundles" / REGISTRATION).glob("*.json")):
        found += [e["resource"] for e in json.loads(path.read_text("utf-8"))["entry"]]
    return found


def _is_tumour(resource: dict[str, Any]) -> bool:
    """A tumour Condition of the period (a record of this run)."""
    return is_tumour(resource, PERIOD)


def _run(world: World, source: Path) -> tuple[LedgerEntry, str]:
    """`aanlevering run` of NKR 2026 from ``source``; its ledger entry and what it printed."""
    arguments = ["--registration", REGISTRATION, "--input", str(source), "--period", PERIOD]
    result = world.cli(CATALOGUE, "run", *arguments, "--allow-open-period")
    assert result.returncode == 0, result.stderr[-3000:]
    with world.store() as store:
        entry = load_ledger(store).versions(REGISTRATION, PERIOD)[-1]
    return entry, result.stdout + result.stderr


def _held(world: World, entry: LedgerEntry) -> Path:
    """The registry holder's accepted folder of ``entry``."""
    storage = world.holder.home / "storage" / "deliveries"
    (folder,) = storage.glob(f"*/{entry.idempotency_key}/accepted")
    return Path(folder)


def _bundles(folder: Path) -> dict[str, bytes]:
    """The delivered Bundles' bytes by file name (not the reports)."""
    found = {}
    for path in sorted(folder.glob("*.json")):
        if json.loads(path.read_bytes()).get("resourceType") == "Bundle":
            found[path.name] = path.read_bytes()
    return found


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


@pytest.fixture(scope="module")
def without_ids(world: World, demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's Bundles as transactions: no ids, urn:uuid: fullUrls and references."""
    target = tmp_path_factory.mktemp("transaction") / "export"
    return transaction_folder(demo / "fhir-bundles" / REGISTRATION, target)


@pytest.fixture(scope="module")
def collection(world: World, demo: Path) -> LedgerEntry:
    """The run of the demo's Bundle export as it is (ids, a collection): what to compare with."""
    entry, _ = _run(world, demo / "fhir-bundles" / REGISTRATION)
    return entry


@pytest.fixture(scope="module")
def delivered(world: World, without_ids: Path, collection: LedgerEntry) -> tuple[LedgerEntry, str]:
    """The run of the transaction export without ids: its ledger entry, what it printed."""
    return _run(world, without_ids)


def test_a_transaction_without_ids_is_delivered_counted_closed_and_valid(
    world: World,
    demo: Path,
    without_ids: Path,
    collection: LedgerEntry,
    delivered: tuple[LedgerEntry, str],
) -> None:
    exported = [json.loads(p.read_text()) for p in sorted(without_ids.glob("*.json"))]
    entries = [entry for bundle in exported for entry in bundle["entry"]]
    assert entries and not any("id" in entry["resource"] for entry in entries)
    assert all(entry["fullUrl"].startswith("urn:uuid:") for entry in entries)
    # The records of the same export with ids (in the period, up to today: the open period).
    records = collection.record_counts[DATASET]
    assert records > 5
    assert records <= sum(1 for resource in _source(demo) if _is_tumour(resource))
    entry, _ = delivered
    assert entry.status == "receipted"
    assert entry.record_counts == collection.record_counts
    assert entry.accounting["delivered"] == records
    assert not entry.accounting.get("not_followable")
    # The registry holder counted them too: its receipt and its ledger.
    held = _held(world, entry)
    receipt = json.loads((held.parent / "receipt.json").read_text("utf-8"))
    assert receipt["receipt_id"] == entry.receipt_id
    assert receipt["record_counts"] == {DATASET: records}
    (received,) = [d for d in world.holder.ledger() if d["receipt_id"] == entry.receipt_id]
    assert received["records"] == {DATASET: records}

    resources = []
    for name, data in _bundles(held).items():
        bundle = json.loads(data)
        addresses = {e["fullUrl"] for e in bundle["entry"]}
        for item in bundle["entry"]:
            resource = item["resource"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            for reference in _references(resource):  # closed: each resolves inside its Bundle
                assert reference in addresses, (name, resource["resourceType"])
            resources.append(resource)
    conditions = {r["id"] for r in resources if r["resourceType"] == "Condition"}
    assert len(conditions) == records
    focused = {
        reference
        for r in resources
        if r["resourceType"] == "Observation"
        for reference in _references(r.get("focus"))
    }
    assert focused == {f"urn:uuid:{c}" for c in conditions}  # each tumour's Observations kept


def test_no_source_uuid_id_or_identifier_reaches_the_delivery_or_the_reports(
    world: World, demo: Path, delivered: tuple[LedgerEntry, str]
) -> None:
    entry, printed = delivered
    source = _source(demo)
    uuids = {entry_uuid(f"{r['resourceType']}/{r['id']}") for r in source}
    planted = uuids | {r["id"] for r in source} | fhir_identity_values(demo)
    assert len(uuids) == len(source) > 50
    finder = LeakFinder(planted)
    reports = world.settings.reports_dir / REGISTRATION / PERIOD / f"v{entry.version}"
    texts = {"run output": printed}
    for folder in (_held(world, entry), reports):
        files = [path for path in folder.rglob("*") if path.is_file()]
        assert files, folder
        for path in files:
            texts[str(path)] = path.read_text("utf-8", errors="replace")
    assert {where: sorted(finder.found_in(text)) for where, text in texts.items()} == {
        where: [] for where in texts
    }


def test_the_uuids_as_ids_and_a_rerun_deliver_the_same_bytes(
    world: World,
    demo: Path,
    without_ids: Path,
    delivered: tuple[LedgerEntry, str],
    tmp_path: Path,
) -> None:
    """The uuid is read as the id: the export that carries it as the id is the same export."""
    first = _bundles(_held(world, delivered[0]))
    with_ids = transaction_folder(
        demo / "fhir-bundles" / REGISTRATION, tmp_path / "ids", keep_ids=True
    )
    assert '"id": "' in (next(with_ids.glob("*.json"))).read_text()
    same, _ = _run(world, with_ids)
    again, _ = _run(world, without_ids)
    assert first
    assert _bundles(_held(world, same)) == first
    assert _bundles(_held(world, again)) == first
