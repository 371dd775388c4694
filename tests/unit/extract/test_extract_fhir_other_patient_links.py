"""A record never reads, nor keeps, a linked resource of another patient (decision 0570).

A related resource joins a record through its link (``encounter``, ``focus``);
when it names a patient (``subject``/``patient``, as ``Patient/x``, an absolute
URL or ``urn:uuid:``) that is not the record's patient, its value is not read
and it is not kept for delivery; it is counted per dataset with its location.
A related resource naming no patient is read as before. Both readers (the
streaming one and its fallback, the store reader) give the same answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import Catalogue, RegistrationConfig, load_catalogue
from aanlevering.demo import DemoOptions, generate_demo_data
from aanlevering.extract import Extract
from aanlevering.extract.fhir import _Plan
from aanlevering.periods import Period

REPO = Path(__file__).resolve().parents[3]
YEAR = Period.parse("2026")
#: A GCS no patient of these demo exports (seed 5) has: only the planted resource holds it.
PLANTED_GCS = 4

Resource = dict[str, Any]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPO / "schemas" / "catalogue")


def _export(tmp: pytest.TempPathFactory, catalogue: Catalogue, registration: str) -> Path:
    out = tmp.mktemp(registration) / "demo"
    options = DemoOptions(out_dir=out, patients=20, seed=5, registrations=(registration,))
    generate_demo_data(catalogue, options)
    return out / "fhir-bulk" / registration


@pytest.fixture(scope="module")
def ldtr(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> Path:
    return _export(tmp_path_factory, catalogue, "ldtr")


@pytest.fixture(scope="module")
def borst(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> Path:
    return _export(tmp_path_factory, catalogue, "nkr-borst")


def _lines(folder: Path, name: str) -> list[Resource]:
    text = (folder / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def _changed(
    source: Path, target: Path, name: str, pick: Callable[[Resource], bool], change: Any
) -> tuple[Resource, int]:
    """A copy of the export with the first resource of ``name`` that ``pick`` finds changed.

    Returns the changed resource and its line (1-based).
    """
    target.mkdir()
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    resources = _lines(target, name)
    index = next(i for i, r in enumerate(resources) if pick(r))
    change(resources[index])
    text = "".join(json.dumps(r) + "\n" for r in resources)
    (target / name).write_text(text, encoding="utf-8")
    return resources[index], index + 1


def _other_patient(folder: Path, own: str) -> str:
    """The id of a Patient of the export that is not ``own`` (a ``Patient/id`` reference)."""
    ids = [str(p["id"]) for p in _lines(folder, "Patient.ndjson")]
    return next(i for i in ids if f"Patient/{i}" != own)


def _both(config: RegistrationConfig) -> RegistrationConfig:
    """The registration delivering resources too, so the kept resources are compared."""
    return replace(
        config, delivery=replace(config.delivery, format="fhir-ndjson", fhir_content="both")
    )


def _read_both(plan: _Plan, folder: Path) -> tuple[Extract, Extract]:
    streamed, stored = plan.streamed(folder, YEAR), plan.stored(folder, YEAR)
    assert streamed.datasets.keys() == stored.datasets.keys()
    for name, ours in streamed.datasets.items():
        theirs = stored.datasets[name]
        assert ours.row_refs.equals(theirs.row_refs), name
        assert ours.clinical.equals(theirs.clinical), name
        assert ours.identity.equals(theirs.identity), name
        assert ours.other_patient_links == theirs.other_patient_links, name
    assert streamed.source_resources is not None and stored.source_resources is not None
    assert streamed.source_resources.equals(stored.source_resources)
    return streamed, stored


def _record(extract: Extract, dataset: str, row_ref: str) -> dict[str, Any]:
    data = extract.datasets[dataset]
    at = data.row_refs.to_pylist().index(row_ref)
    return {name: data.clinical.column(name)[at].as_py() for name in data.clinical.column_names}


def _encounter_line(folder: Path, reference: str) -> int:
    ids = [f"Encounter/{r['id']}" for r in _lines(folder, "Encounter.ndjson")]
    return ids.index(reference) + 1


def _is_gcs(resource: Resource) -> bool:
    codes = [c.get("code") for c in resource.get("code", {}).get("coding", [])]
    in_period = str(resource.get("effectiveDateTime", "")).startswith("2026")
    return (
        "9269-2" in codes and "encounter" in resource and "valueInteger" in resource and in_period
    )


def _foreign(form: str, patient_id: str) -> Callable[[Resource], None]:
    references = {
        "relative": f"Patient/{patient_id}",
        "absolute": f"https://ehr.example/fhir/Patient/{patient_id}",
        "urn": f"urn:uuid:{patient_id}",
    }

    def change(resource: Resource) -> None:
        resource["subject"] = {"reference": references[form]}
        resource["valueInteger"] = PLANTED_GCS

    return change


@pytest.mark.parametrize("form", ["relative", "absolute", "urn"])
def test_an_observation_of_another_patient_on_the_encounter_is_not_read_nor_kept(
    ldtr: Path, catalogue: Catalogue, tmp_path: Path, form: str
) -> None:
    first = next(r for r in _lines(ldtr, "Observation.ndjson") if _is_gcs(r))
    other = _other_patient(ldtr, first["subject"]["reference"])
    planted, line = _changed(
        ldtr, tmp_path / "export", "Observation.ndjson", _is_gcs, _foreign(form, other)
    )
    folder = tmp_path / "export"
    record = f"Encounter.ndjson:{_encounter_line(folder, planted['encounter']['reference'])}"
    streamed, _ = _read_both(_Plan.of(_both(catalogue.get("ldtr")), None), folder)
    trauma = streamed.datasets["trauma"]
    assert _record(streamed, "trauma", record)["gcs"] is None
    assert PLANTED_GCS not in trauma.clinical.column("gcs").to_pylist()
    assert trauma.other_patient_links == ((record, f"Observation.ndjson:{line}"),)
    assert streamed.source_resources is not None
    kept = streamed.source_resources.keys.to_pylist()
    assert f"Observation/{planted['id']}" not in kept
    assert planted["encounter"]["reference"] in kept  # the record itself is delivered


def test_an_observation_naming_no_patient_is_read_as_before(
    ldtr: Path, catalogue: Catalogue, tmp_path: Path
) -> None:
    def change(resource: Resource) -> None:
        del resource["subject"]
        resource["valueInteger"] = PLANTED_GCS

    planted, _ = _changed(ldtr, tmp_path / "export", "Observation.ndjson", _is_gcs, change)
    folder = tmp_path / "export"
    record = f"Encounter.ndjson:{_encounter_line(folder, planted['encounter']['reference'])}"
    streamed, _ = _read_both(_Plan.of(_both(catalogue.get("ldtr")), None), folder)
    assert _record(streamed, "trauma", record)["gcs"] == PLANTED_GCS
    assert streamed.datasets["trauma"].other_patient_links == ()
    assert streamed.source_resources is not None
    assert f"Observation/{planted['id']}" in streamed.source_resources.keys.to_pylist()


def test_the_record_takes_its_own_patients_observation_after_another_patients(
    ldtr: Path, catalogue: Catalogue, tmp_path: Path
) -> None:
    """Another patient's GCS read first on the encounter; the patient's own one is used."""
    first = next(r for r in _lines(ldtr, "Observation.ndjson") if _is_gcs(r))
    other = _other_patient(ldtr, first["subject"]["reference"])
    target = tmp_path / "export"
    target.mkdir()
    for path in ldtr.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    foreign = dict(first, id="planted-foreign", valueInteger=PLANTED_GCS)
    foreign["subject"] = {"reference": f"Patient/{other}"}
    text = (target / "Observation.ndjson").read_text(encoding="utf-8")
    (target / "Observation.ndjson").write_text(json.dumps(foreign) + "\n" + text, "utf-8")
    record = f"Encounter.ndjson:{_encounter_line(target, first['encounter']['reference'])}"
    streamed, _ = _read_both(_Plan.of(_both(catalogue.get("ldtr")), None), target)
    assert _record(streamed, "trauma", record)["gcs"] == first["valueInteger"]
    assert streamed.datasets["trauma"].other_patient_links == ((record, "Observation.ndjson:1"),)
    assert streamed.source_resources is not None
    kept = streamed.source_resources.keys.to_pylist()
    assert "Observation/planted-foreign" not in kept
    assert f"Observation/{first['id']}" in kept


def _is_er(resource: Resource) -> bool:
    codes = [c.get("code") for c in resource.get("code", {}).get("coding", [])]
    in_period = str(resource.get("effectiveDateTime", "")).startswith("2026")
    return "ER" in codes and "focus" in resource and in_period


def test_a_tumour_observation_of_another_patient_is_not_read_nor_kept(
    borst: Path, catalogue: Catalogue, tmp_path: Path
) -> None:
    first = next(r for r in _lines(borst, "Observation.ndjson") if _is_er(r))
    other = _other_patient(borst, first["subject"]["reference"])

    def change(resource: Resource) -> None:
        resource["subject"] = {"reference": f"Patient/{other}"}

    planted, line = _changed(borst, tmp_path / "export", "Observation.ndjson", _is_er, change)
    folder = tmp_path / "export"
    conditions = [f"Condition/{r['id']}" for r in _lines(folder, "Condition.ndjson")]
    record = f"Condition.ndjson:{conditions.index(planted['focus'][0]['reference']) + 1}"
    streamed, _ = _read_both(_Plan.of(_both(catalogue.get("nkr-borst")), None), folder)
    tumor = _record(streamed, "tumor", record)
    assert tumor["er_status"] is None
    assert tumor["pr_status"] is not None  # the patient's own observations are still read
    assert streamed.datasets["tumor"].other_patient_links == (
        (record, f"Observation.ndjson:{line}"),
    )
    assert streamed.source_resources is not None
    assert f"Observation/{planted['id']}" not in streamed.source_resources.keys.to_pylist()


@pytest.fixture(scope="module")
def dsaa(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> Path:
    return _export(tmp_path_factory, catalogue, "dica-dsaa")


def _is_operation(resource: Resource) -> bool:
    return str(resource.get("performedDateTime", "")).startswith("2026") and all(
        name in resource for name in ("encounter", "reasonReference")
    )


@pytest.mark.parametrize(
    "followed,variables",
    [
        ("encounter", ("datum_opname", "datum_ontslag")),  # encounter.resolve().period
        ("reasonReference", ("type_aneurysma",)),  # reasonReference.resolve().extension(...)
    ],
)
def test_a_chain_never_reads_a_resource_of_another_patient(
    dsaa: Path, catalogue: Catalogue, tmp_path: Path, followed: str, variables: tuple[str, ...]
) -> None:
    """``x.resolve()...`` into another patient's resource reads nothing there (decision 0571)."""
    procedures = _lines(dsaa, "Procedure.ndjson")
    at, operation = next((i, p) for i, p in enumerate(procedures) if _is_operation(p))
    reference = operation[followed]
    reference = reference[0]["reference"] if isinstance(reference, list) else reference["reference"]
    kind, _, target_id = reference.partition("/")
    other = _other_patient(dsaa, operation["subject"]["reference"])

    def change(resource: Resource) -> None:
        resource["subject"] = {"reference": f"Patient/{other}"}

    def pick(resource: Resource) -> bool:
        return resource.get("id") == target_id

    _, line = _changed(dsaa, tmp_path / "export", f"{kind}.ndjson", pick, change)
    folder = tmp_path / "export"
    record = f"Procedure.ndjson:{at + 1}"
    before, _ = _read_both(_Plan.of(_both(catalogue.get("dica-dsaa")), None), dsaa)
    streamed, _ = _read_both(_Plan.of(_both(catalogue.get("dica-dsaa")), None), folder)
    for name in variables:
        assert _record(before, "operatie", record)[name] is not None, name
        assert _record(streamed, "operatie", record)[name] is None, name
    assert _record(streamed, "operatie", record)["geslacht"] is not None  # its own Patient
    assert (record, f"{kind}.ndjson:{line}") in streamed.datasets["operatie"].other_patient_links
    assert all(
        location == f"{kind}.ndjson:{line}"
        for _, location in streamed.datasets["operatie"].other_patient_links
    )
    assert before.datasets["operatie"].other_patient_links == ()
