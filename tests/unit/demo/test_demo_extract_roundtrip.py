"""The product's own extract reads every demo format to the same records.

This is the contract between the generator and the registrations' source
mappings: CSV (both encodings), the FHIR bulk export and the Bundles must
give identical clinical tables, except the CSV-only wrong date formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from demo_support import bad_rows

from aanlevering.catalogue import Catalogue
from aanlevering.extract import extract
from aanlevering.periods import Period

YEAR = Period.parse("2026")


def by_key(data: Any, dataset: str, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in data.datasets[dataset].clinical.to_pylist()}


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
def test_all_formats_extract_to_the_same_records(
    demo_dir: Path, catalogue: Catalogue, registration: str
) -> None:
    config = catalogue.get(registration)
    sources = {
        "csv-utf8": demo_dir / "csv-utf8",
        "csv-cp1252": demo_dir / "csv-cp1252",
        "fhir-bulk": demo_dir / "fhir-bulk" / registration,
        "fhir-bundles": demo_dir / "fhir-bundles" / registration,
    }
    extracts = {name: extract(config, path, YEAR) for name, path in sources.items()}
    spoilt = bad_rows(demo_dir)["registrations"][registration]
    for dataset in extracts["csv-utf8"].datasets:
        key = config.dictionary.dataset(dataset).key[0]
        csv_only = {
            (entry["key"][key], entry["variable"])
            for entry in spoilt[dataset]["rows"]
            if entry["formats"] == ["csv"]
        }
        reference = by_key(extracts["csv-utf8"], dataset, key)
        assert len(reference) > 50
        for name, data in extracts.items():
            rows = by_key(data, dataset, key)
            assert rows.keys() == reference.keys(), name
            for record, row in rows.items():
                for variable, value in row.items():
                    if name.startswith("fhir") and (record, variable) in csv_only:
                        continue
                    assert value == reference[record][variable], (name, record, variable)
    # records dated in late 2025 are outside the 2026 period in every format
    outside = {name: data.rows_outside_period for name, data in extracts.items()}
    assert len(set(outside.values())) == 1 and next(iter(outside.values())) > 0
