"""Dropping unread elements on load (decision 0135) changes nothing the extract returns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import Catalogue
from aanlevering.demo import BAD_ROWS_FILE, DemoOptions, DemoResult, generate_demo_data
from aanlevering.extract import Extract, extract
from aanlevering.extract import fhir as fhir_module
from aanlevering.extract.fhir_projection import projector, read_names
from aanlevering.extract.fhirpath import compile_path
from aanlevering.periods import Period

YEAR = Period.parse("2026")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> DemoResult:
    out = tmp_path_factory.mktemp("demo-projection") / "demo"
    options = DemoOptions(out_dir=out, patients=300, seed=7, bad_share=0.1)
    return generate_demo_data(catalogue, options)


def _whole(names: frozenset[str]) -> Any:
    return lambda resource: resource


@pytest.mark.parametrize("registration_id", ["dica-dsaa", "ldtr", "nkr-borst"])
@pytest.mark.parametrize("fmt", ["fhir-bulk", "fhir-bundles"])
def test_projected_store_extracts_what_the_whole_store_does(
    demo: DemoResult,
    catalogue: Catalogue,
    monkeypatch: pytest.MonkeyPatch,
    registration_id: str,
    fmt: str,
) -> None:
    config = catalogue.get(registration_id)
    source = demo.out_dir / fmt / config.id
    projected = extract(config, source, YEAR)
    monkeypatch.setattr(fhir_module, "projector", _whole)
    whole = extract(config, source, YEAR)
    assert isinstance(projected, Extract)
    assert projected == whole
    bad = json.loads((demo.out_dir / BAD_ROWS_FILE).read_text(encoding="utf-8"))
    spoiled = bad["registrations"].get(config.id, {})
    assert any(spec.get("rows") for spec in spoiled.values()), "no bad rows to compare"
    assert all(d.num_rows for d in projected.datasets.values())


def test_projection_keeps_read_and_choice_elements_only() -> None:
    names = read_names([compile_path("value"), compile_path("code.coding.code")], ["partOf"])
    project = projector(names)
    resource = {
        "resourceType": "Observation",
        "id": "o1",
        "text": {"div": "<div>narrative</div>"},
        "code": {"coding": []},
        "valueQuantity": {"value": 3},
        "partOf": [{"reference": "Procedure/p1"}],
        "meta": {"versionId": "1"},
    }
    assert list(project(resource)) == ["resourceType", "id", "code", "valueQuantity", "partOf"]
    patient = {"resourceType": "Patient", "id": "p", "name": [{"family": "X"}]}
    assert project(patient) is patient


def test_bad_line_error_is_unchanged(
    tmp_path: Path, demo: DemoResult, catalogue: Catalogue
) -> None:
    config = catalogue.get("dica-dsaa")
    folder = demo.out_dir / "fhir-bulk" / config.id
    copy = tmp_path / "bulk"
    copy.mkdir()
    for path in folder.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    target = sorted(copy.glob("Observation*.ndjson"))[0]
    lines = target.read_bytes().splitlines(keepends=True)
    lines[2] = b'{"resourceType": "Observation", broken\n'
    target.write_bytes(b"".join(lines))
    with pytest.raises(Exception, match=rf"{target.name}: line 3: not valid JSON"):
        extract(config, copy, YEAR)
