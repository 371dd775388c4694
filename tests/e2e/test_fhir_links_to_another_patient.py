"""An opted-out patient's Observation linked to another patient's Encounter is never delivered.

Decision 0570 through the CLI: the LTR registration reads each trauma record's
GCS from an Observation linked to the record's Encounter (``link: encounter``).
In the export, a GCS Observation of another patient, who opted out, is linked
to an Encounter (the EHR linked it to the wrong encounter) and read before the
record's own GCS. The run must deliver
(exit 0) the record without that value: the value, planted unique in the whole
export, is in no delivered file (neither the Observation nor the record's
answer), and the validation report, the run's accounting and what the CLI
printed say that one linked resource of another patient was left out, with no
identifier of the input.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.ledger import load_ledger
from aanlevering.demo.generator import DemoOptions, generate_demo_data
from aanlevering.optout.rules import RULES_FILE
from conftest import CATALOGUE, World, fhir_identity_values
from support.leaks import LeakFinder

REGISTRATION = "ldtr"
DATASET = "trauma"
GCS = "9269-2"
MRN_TYPE = "MR"
ONGEVALSDATUM = "https://aanlevering.example/fhir/StructureDefinition/ongevalsdatum"

Resource = dict[str, Any]


def _read(path: Path) -> list[Resource]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _write(path: Path, resources: list[Resource]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")


def _mrn(patient: Resource) -> str:
    for identifier in patient.get("identifier", ()):
        codes = {c.get("code") for c in identifier.get("type", {}).get("coding", ())}
        if MRN_TYPE in codes:
            return str(identifier["value"])
    raise AssertionError("a demo Patient without an MRN")


def _is_gcs(resource: Resource) -> bool:
    codes = {c.get("code") for c in resource.get("code", {}).get("coding", ())}
    return GCS in codes and "valueInteger" in resource and "encounter" in resource


def _unused_gcs(observations: list[Resource]) -> int:
    """A valid GCS (3..15) no Observation of the export holds: only the planted one will."""
    used = {o["valueInteger"] for o in observations if "valueInteger" in o}
    free = [value for value in range(3, 16) if value not in used]
    assert free, "every GCS occurs in the demo export"
    return free[0]


def _ongeval(encounter: Resource) -> str:
    return str(next(x["valueDate"] for x in encounter["extension"] if x["url"] == ONGEVALSDATUM))


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small LTR export with patient B's GCS Observation on A's Encounter, read first.

    A and B both have a trauma record in the month delivered; the dictionary
    requires a GCS, so A keeps its own one (read after B's, which would win if
    it were read at all).
    """
    out = tmp_path_factory.mktemp("ltr-demo") / "demo"
    options = DemoOptions(out_dir=out, patients=24, seed=5, bad_share=0, registrations=("ldtr",))
    generate_demo_data(load_catalogue(CATALOGUE), options)
    export = out / "export"
    shutil.copytree(out / "fhir-bulk" / REGISTRATION, export)
    observations = _read(export / "Observation.ndjson")
    value = _unused_gcs(observations)
    encounters = {f"Encounter/{e['id']}": e for e in _read(export / "Encounter.ndjson")}
    gcs = [o for o in observations if _is_gcs(o)]
    first, second = next(
        (a, b)
        for a in gcs
        for b in gcs
        if a["subject"] != b["subject"]
        and _ongeval(encounters[a["encounter"]["reference"]])[:7]
        == _ongeval(encounters[b["encounter"]["reference"]])[:7]
    )
    other_id = second["subject"]["reference"].split("/")[-1]
    (other,) = [p for p in _read(export / "Patient.ndjson") if p["id"] == other_id]
    observation = dict(first, id=f"{first['id']}-other", valueInteger=value)
    observation["subject"] = dict(second["subject"])
    _write(export / "Observation.ndjson", [observation, *observations])
    return {
        "demo": out,
        "export": export,
        "value": value,
        "period": _ongeval(encounters[first["encounter"]["reference"]])[:7],
        "other_mrn": _mrn(other),
    }


def _opt_out(world: World, mrn: str, root: Path) -> None:
    """The other patient objects to every registration, counted from 2026 (rules file)."""
    (world.settings.home / RULES_FILE).write_text("effective_from: 2026-01-01\n", "utf-8")
    optouts = root / "optouts.csv"
    optouts.write_text(
        f"PATIENTNUMMER;DATUM_REGISTRATIE;REIKWIJDTE;DATUM_INTREKKING\n{mrn};02-01-2026;all;\n",
        encoding="utf-8",
    )
    result = world.cli(CATALOGUE, "optout", "ingest", str(optouts))
    assert result.returncode == 0, result.stderr[-2000:]


def _texts(folder: Path) -> dict[str, str]:
    return {
        str(path): path.read_text("utf-8", errors="replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _run(world: World, planted: dict[str, Any], outbox: Path) -> tuple[Any, Any, Path]:
    """`aanlevering run` of the planted export; its output, ledger entry and delivered folder."""
    result = world.cli(
        CATALOGUE,
        "run",
        *("--registration", REGISTRATION, "--input", str(planted["export"])),
        *("--period", planted["period"], "--outbox", str(outbox), "--allow-open-period"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with world.store() as store:
        entry = load_ledger(store).versions(REGISTRATION, planted["period"])[-1]
    (delivered,) = outbox.glob(f"**/{REGISTRATION}/{planted['period']}/v{entry.version}")
    return result, entry, Path(delivered)


def _not_delivered(delivered: Path, value: int) -> None:
    """The planted value is in no delivered file: not as the Observation, not as an answer."""
    data = {n: t for n, t in _texts(delivered).items() if n.endswith(".ndjson")}
    assert any('"Observation"' in text for text in data.values())  # resources were delivered
    pattern = re.compile(rf'"valueInteger":\s*{value}(?!\d)')
    assert {name: bool(pattern.search(text)) for name, text in data.items()} == {
        name: False for name in data
    }


def _reported(world: World, planted: dict[str, Any], run: tuple[Any, Any, Path]) -> None:
    """The report, the accounting, the hospital's report and the run's output state it."""
    result, entry, delivered = run
    assert entry.accounting["other_patient"] == {DATASET: 1}
    report = json.loads((delivered / "validation-report.json").read_text("utf-8"))
    assert report["counts"]["linked_resources_of_another_patient"] == 1
    assert report["accounting"]["other_patient"] == {DATASET: 1}
    (check,) = [
        c
        for d in report["datasets"]
        for c in d["checks"]
        if c["rule_id"] == f"{DATASET}.linked_resources.patient"
    ]
    assert check["severity"] == "warning" and not check["passed"]  # a warning, not blocking
    assert check["unexpected_count"] == 1
    assert check["note"] == "1 linked resource(s) of another patient left out"
    assert not report["outcome"]["blocked"]
    assert all(ref.startswith("Encounter.ndjson:") for ref in check["failing_rows"])
    html = (delivered / "validation-report.html").read_text("utf-8")
    assert 'name another patient (left out, not delivered)</th><td class="num">1</td>' in html
    assert "1 linked resource(s) of another patient left out" in html

    # The hospital's report says where the resource is; what the run printed says it too.
    reports = world.settings.reports_dir / REGISTRATION / planted["period"] / f"v{entry.version}"
    hospital = json.loads((reports / "hospital-report.json").read_text("utf-8"))
    ((record, location),) = hospital["linked_resources_of_another_patient"][DATASET]
    assert record.startswith("Encounter.ndjson:") and location == "Observation.ndjson:1"
    assert "linked resources of another patient left out (not delivered): trauma 1" in result.stdout
    assert "1 linked resource(s) name another patient" in result.stderr
    assert location in result.stderr

    # No identifier of the input anywhere the run wrote or printed.
    finder = LeakFinder(fhir_identity_values(planted["demo"]))
    written = {"run output": result.stdout + result.stderr, **_texts(delivered), **_texts(reports)}
    assert {where: sorted(finder.found_in(text)) for where, text in written.items()} == {
        where: [] for where in written
    }


def test_another_patients_observation_on_the_encounter_is_not_delivered_opted_out_or_not(
    world: World, planted: dict[str, Any], tmp_path: Path
) -> None:
    # B delivered too (not opted out): B's value is still not A's.
    first = _run(world, planted, tmp_path / "outbox")
    assert first[1].excluded_optouts == 0 and first[1].record_counts[DATASET] >= 2
    _not_delivered(first[2], planted["value"])
    _reported(world, planted, first)

    # B opts out: a new version without B's records, and still without B's value in A's.
    _opt_out(world, planted["other_mrn"], tmp_path)
    second = _run(world, planted, tmp_path / "outbox")
    assert second[1].version == first[1].version + 1
    assert second[1].excluded_optouts >= 1
    _not_delivered(second[2], planted["value"])
    _reported(world, planted, second)
