"""The run folder hands the kept FHIR source resources to the output step (decision 0231)."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from aanlevering.extract.fhir_resources import SCHEMA
from aanlevering.extract.model import Extract
from aanlevering.periods import Period
from aanlevering.runs.folder import RESOURCES_FILE, RunFolder


def test_source_resources_round_trip_private_and_absent_stays_absent(tmp_path: Path) -> None:
    kept = pa.table(
        [
            pa.array(["Encounter.ndjson:1", "Encounter.ndjson:1"]),
            pa.array(["Encounter/e1", "Observation/o1"]),
            pa.array(['{"id":"e1","resourceType":"Encounter"}', '{"id":"o1"}']),
        ],
        schema=SCHEMA,
    )
    extract = Extract("ldtr", Period.parse("2026-02"), "fhir", {}, 0, source_resources=kept)
    folder = RunFolder(tmp_path / "run")
    folder.save_extract("extract", extract)
    file = folder.path / "work" / "extract" / RESOURCES_FILE
    assert stat.S_IMODE(file.stat().st_mode) == 0o600  # source ids and values: owner only
    loaded, _ = folder.load_extract("extract")
    assert loaded.source_resources is not None
    assert loaded.source_resources.equals(kept)

    folder.save_extract("filtered", replace(extract, source_resources=None))
    assert not (folder.path / "work" / "filtered" / RESOURCES_FILE).exists()
    assert folder.load_extract("filtered")[0].source_resources is None
