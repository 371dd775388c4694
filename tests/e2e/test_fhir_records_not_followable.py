"""A FHIR export's focus resources without an id are delivered and counted as not followable.

Decision 0495 through the real pipeline, for a FHIR source: the NKR breast
cancer registration reads its record key ``tumor_id`` from the focus
Condition's ``id``. A copy of the catalogue leaves that key optional (no
shipped dictionary does; ``registrations check`` warns about it), and a few
tumour Conditions of the export carry no id. Run with the CLI against the
reference TTP (local mode) and registry holder, for both input forms (bulk
NDJSON and a Bundle), the run must deliver those records, count them per
dataset as ``not_followable`` in the ledger and both validation reports (the
hospital's and the registry holder's copy, JSON and HTML), and write no
identifier of the input into either report.

In a Bundle the Conditions keep a ``urn:oid:`` fullUrl that their
Observations point at, so the records are complete except for their key (a
``urn:uuid:`` fullUrl would give them its uuid as their id, decision 0560). In
bulk NDJSON nothing can point at a resource without an id: the Observations
of those Conditions are left out of the export, and the catalogue copy leaves
the receptor statuses they carry optional too.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.ledger import LedgerEntry, load_ledger
from aanlevering.demo.generator import DemoOptions, generate_demo_data
from conftest import CATALOGUE, World, fhir_identity_values
from support.forked_cli import run_cli
from support.leaks import LeakFinder
from support.nkr_tumours import is_tumour

REGISTRATION = "nkr-borst"
PERIOD = "2026"
DATASET = "tumor"
#: Tumour Conditions of the export without an id: the records no other period can be checked for.
WITHOUT_ID = 3
#: Receptor statuses read from Observations that point at the Condition (``link: focus``).
RECEPTORS = ("er_status", "pr_status", "her2_status")
REQUIRED = ", required_for: [hospital, umc, zbc]"


def _optional(dictionary: Path, variable: str) -> None:
    """``variable`` of the NKR dictionary required for no provider type."""
    text = dictionary.read_text(encoding="utf-8")
    at = text.index(f"{{name: {variable}, ")
    end = text.index("\n", at)
    line = text[at:end]
    assert line.count(REQUIRED) == 1, line
    dictionary.write_text(text[:at] + line.replace(REQUIRED, "") + text[end:], encoding="utf-8")


def _catalogue(root: Path, content: str) -> Path:
    """The shipped catalogue with NKR's ``tumor_id`` (and the receptor statuses) optional and
    its delivery carrying ``content`` (``fhir_content``)."""
    copy = root / "catalogue"
    shutil.copytree(CATALOGUE, copy)
    dictionary = copy / "dictionaries" / "nkr-borst" / "2026.1.yaml"
    for variable in ("tumor_id", *RECEPTORS):
        _optional(dictionary, variable)
    registration = copy / "registrations" / "nkr-borst.yaml"
    text = registration.read_text(encoding="utf-8")
    assert text.count("fhir_content: resources\n") == 1
    registration.write_text(
        text.replace("fhir_content: resources\n", f"fhir_content: {content}\n"), encoding="utf-8"
    )
    return copy


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """NKR with an optional key, delivering a QuestionnaireResponse per record (no resources)."""
    return _catalogue(tmp_path_factory.mktemp("questionnaire"), "questionnaire")


@pytest.fixture(scope="module")
def resources_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """NKR with an optional key, delivering the source resources as shipped."""
    return _catalogue(tmp_path_factory.mktemp("resources"), "resources")


@pytest.fixture(scope="module")
def demo(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A small NKR demo export, and NKR's inclusion registered (it waits for it otherwise)."""
    out = tmp_path_factory.mktemp("nkr-demo") / "demo"
    options = DemoOptions(
        out_dir=out, patients=24, seed=31, bad_share=0, registrations=(REGISTRATION,)
    )
    generate_demo_data(load_catalogue(CATALOGUE), options)
    world.include(REGISTRATION)
    yield out


def _is_tumour(resource: dict[str, Any]) -> bool:
    """A tumour Condition of the period (a record of this run)."""
    return is_tumour(resource, PERIOD)


def _focus_of(resource: dict[str, Any]) -> set[str]:
    return {f.get("reference", "") for f in resource.get("focus", ())}


def _bulk_without_ids(source: Path, target: Path) -> Path:
    """The bulk export with the first tumour Conditions' ids (and their Observations) left out."""
    shutil.copytree(source, target)
    conditions = [
        json.loads(line) for line in (target / "Condition.ndjson").read_text().splitlines()
    ]
    tumours = [c for c in conditions if _is_tumour(c)]
    assert len(tumours) > WITHOUT_ID
    stripped = {f"Condition/{c.pop('id')}" for c in tumours[:WITHOUT_ID]}
    _write_ndjson(target / "Condition.ndjson", conditions)
    observations = [
        json.loads(line) for line in (target / "Observation.ndjson").read_text().splitlines()
    ]
    kept = [o for o in observations if not _focus_of(o) & stripped]
    assert len(kept) < len(observations)
    _write_ndjson(target / "Observation.ndjson", kept)
    return target


def _write_ndjson(path: Path, resources: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")


def _bundle_without_ids(source: Path, target: Path) -> Path:
    """The Bundle with the first tumour Conditions' ids left out: a ``urn:oid:`` fullUrl instead,
    and their Observations pointing at it (no uuid: that would be read as their id, 0560)."""
    shutil.copytree(source, target)
    (path,) = target.glob("*.json")
    bundle = json.loads(path.read_text(encoding="utf-8"))
    renamed: dict[str, str] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if _is_tumour(resource) and len(renamed) < WITHOUT_ID:
            urn = f"urn:oid:1.3.6.1.4.1.99999.{random.randrange(10**9)}.{len(renamed)}"
            renamed[f"Condition/{resource.pop('id')}"] = urn
            entry["fullUrl"] = urn
    assert len(renamed) == WITHOUT_ID
    pointed = 0
    for entry in bundle["entry"]:
        for focus in entry["resource"].get("focus", ()):
            if focus.get("reference") in renamed:
                focus["reference"] = renamed[focus["reference"]]
                pointed += 1
    assert pointed >= 3 * WITHOUT_ID  # each tumour's ER, PR and HER2 at least
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return target


def _run_cli(world: World, catalogue: Path, source: Path) -> subprocess.CompletedProcess[str]:
    """`aanlevering run` of NKR 2026 from ``source`` with ``catalogue``, as users do."""
    arguments = ["--registration", REGISTRATION, "--input", str(source), "--period", PERIOD]
    return world.cli(catalogue, "run", *arguments, "--allow-open-period")


def _latest(world: World) -> LedgerEntry:
    with world.store() as store:
        return load_ledger(store).versions(REGISTRATION, PERIOD)[-1]


def test_the_catalogue_copy_warns_that_the_key_may_be_left_empty(catalogue: Path) -> None:
    result = run_cli(
        ["registrations", "--catalogue", str(catalogue), "check", REGISTRATION],
        env=dict(os.environ),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (
        f"{REGISTRATION} {DATASET}: key variable tumor_id is not required for hospital, umc, zbc"
        in result.stdout
    )


def _export(demo: Path, form: str, target: Path) -> Path:
    """The demo's ``form`` export of NKR with :data:`WITHOUT_ID` tumour Conditions without an id."""
    make = _bulk_without_ids if form == "fhir-bulk" else _bundle_without_ids
    return make(demo / form / REGISTRATION, target)


def _held(world: World, entry: LedgerEntry) -> Path:
    """The registry holder's accepted folder of ``entry``."""
    storage = world.holder.home / "storage" / "deliveries"
    (folder,) = storage.glob(f"*/{entry.idempotency_key}/accepted")
    return Path(folder)


def _delivered(folder: Path, resource_type: str) -> list[dict[str, Any]]:
    """The ``resource_type`` resources of the delivered Bundles in ``folder``."""
    found = []
    for path in sorted(folder.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("resourceType") != "Bundle":
            continue
        found += [
            e["resource"]
            for e in document["entry"]
            if e["resource"]["resourceType"] == resource_type
        ]
    return found


def _link_ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("linkId"), str):
            yield value["linkId"]
        for item in value.values():
            yield from _link_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _link_ids(item)


FORMS = ["fhir-bulk", "fhir-bundles"]


@pytest.mark.parametrize("form", FORMS)
def test_fhir_records_without_their_key_are_delivered_and_counted_not_followable(
    world: World, demo: Path, catalogue: Path, tmp_path: Path, form: str
) -> None:
    source = _export(demo, form, tmp_path / "export")
    result = _run_cli(world, catalogue, source)
    assert result.returncode == 0, result.stderr[-3000:]
    entry = _latest(world)
    assert entry.status == "receipted"
    assert entry.accounting["not_followable"] == {DATASET: WITHOUT_ID}

    # Delivered: one QuestionnaireResponse per record, those without a key lack its item.
    held = _held(world, entry)
    answers = _delivered(held, "QuestionnaireResponse")
    print(json.dumps(answers[0])[:2000])
    assert len(answers) == entry.record_counts[DATASET] == entry.accounting["delivered"]
    keyless = [a for a in answers if "tumor_id" not in set(_link_ids(a))]
    assert len(keyless) == WITHOUT_ID
    if form == "fhir-bundles":  # their Observations still point at them (a urn:oid: fullUrl)
        assert all({"er_status", "pr_status"} <= set(_link_ids(a)) for a in keyless)

    # Both validation reports say so: the hospital's and the registry holder's copy.
    reports = world.settings.reports_dir / REGISTRATION / PERIOD / f"v{entry.version}"
    hospital = json.loads((reports / "hospital-report.json").read_text("utf-8"))
    assert hospital["accounting"]["not_followable"] == {DATASET: WITHOUT_ID}
    copy = json.loads((held / "validation-report.json").read_text("utf-8"))
    assert copy["accounting"]["not_followable"] == {DATASET: WITHOUT_ID}
    html = (held / "validation-report.html").read_text("utf-8")
    assert (
        f"<tr><th>Records of {DATASET} that cannot be followed across periods (empty key)</th>"
        f'<td class="num">{WITHOUT_ID}</td></tr>'
    ) in html

    # No identifier of the input in the reports, the delivery or what the run printed.
    planted = fhir_identity_values(demo)
    assert len(planted) > 50
    finder = LeakFinder(planted)
    texts = {"run output": result.stdout + result.stderr}
    for folder in (held, reports):
        for path in folder.rglob("*"):
            if path.is_file():
                texts[str(path)] = path.read_text("utf-8", errors="replace")
    assert {where: sorted(finder.found_in(text)) for where, text in texts.items()} == {
        where: [] for where in texts
    }


@pytest.mark.parametrize("form", FORMS)
def test_a_resource_delivery_refuses_records_whose_own_resource_has_no_id(
    world: World, demo: Path, resources_catalogue: Path, tmp_path: Path, form: str
) -> None:
    """Their record would be counted as delivered while its Condition, the record itself in a
    delivery of resources, could not be delivered (an id-less resource was left out): a false
    "delivered". The run stops before anything is sent, naming where (decision 0541)."""
    source = _export(demo, form, tmp_path / "export")
    with world.store() as store:
        before = load_ledger(store).versions(REGISTRATION, PERIOD)
    held = world.holder.ledger()

    result = _run_cli(world, resources_catalogue, source)
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"{WITHOUT_ID} Condition resource(s) of the period have no id" in result.stderr
    assert "decision 0541" in result.stderr
    where = "Condition.ndjson:" if form == "fhir-bulk" else "nkr-borst-00001-collection.json:entry["
    assert f"error: {where}" in result.stderr  # names the file and the first resource
    with world.store() as store:
        assert load_ledger(store).versions(REGISTRATION, PERIOD) == before
    assert world.holder.ledger() == held  # nothing sent
    finder = LeakFinder(fhir_identity_values(demo))
    assert finder.found_in(result.stdout + result.stderr) == set()
