"""The run folder hands the kept FHIR source resources to the output step (decision 0231)."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from aanlevering.extract.fhir_texts import SCHEMA, KeptSources
from aanlevering.extract.model import Extract
from aanlevering.periods import Period
from aanlevering.runs.folder import RESOURCES_FILE, TEXTS_FILE, RunFolder


def test_source_resources_round_trip_private_and_absent_stays_absent(tmp_path: Path) -> None:
    kept = pa.table(
        [
            pa.array(["Encounter.ndjson:1", "Encounter.ndjson:1"]),
            pa.array(["Encounter/e1", "Observation/o1"]),
            pa.array(['{"id":"e1","resourceType":"Encounter"}', '{"id":"o1"}']),
        ],
        schema=SCHEMA,
    )
    folder = RunFolder(tmp_path / "run")
    sources = KeptSources.of_table(kept, folder.path / "work")
    extract = Extract("ldtr", Period.parse("2026-02"), "fhir", {}, 0, source_resources=sources)
    folder.save_extract("extract", extract)
    for name in (RESOURCES_FILE, TEXTS_FILE):
        file = folder.path / "work" / "extract" / name
        assert stat.S_IMODE(file.stat().st_mode) == 0o600  # source ids and values: owner only
    texts = folder.path / "work" / "extract" / TEXTS_FILE
    assert texts.stat().st_ino == sources.texts.path.stat().st_ino  # linked, not copied
    loaded, _ = folder.load_extract("extract")
    assert loaded.source_resources is not None
    assert loaded.source_resources.to_table().equals(kept)

    # A step saving what it loaded from the same stage folder keeps the texts.
    folder.save_extract("extract", loaded)
    again = folder.load_extract("extract")[0].source_resources
    assert again is not None and again.to_table().equals(kept)
    # A later stage with fewer rows shares the texts file.
    fewer = replace(
        loaded, source_resources=loaded.source_resources.filter(pa.array([False, True]))
    )
    folder.save_extract("pseudonymised", fewer)
    last = folder.load_extract("pseudonymised")[0].source_resources
    assert last is not None and last.to_table().equals(kept.slice(1))

    folder.save_extract("filtered", replace(extract, source_resources=None))
    assert not (folder.path / "work" / "filtered" / RESOURCES_FILE).exists()
    assert folder.load_extract("filtered")[0].source_resources is None
