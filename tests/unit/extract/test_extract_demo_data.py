"""Every example registration extracts from demo data in all four formats, consistently."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import Catalogue, RegistrationConfig
from aanlevering.demo import BAD_ROWS_FILE, DemoOptions, DemoResult, generate_demo_data
from aanlevering.extract import Extract, extract
from aanlevering.periods import Period, periods_between

YEAR = Period.parse("2026")
FORMATS = ("csv-utf8", "csv-cp1252", "fhir-bulk", "fhir-bundles")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> DemoResult:
    out = tmp_path_factory.mktemp("demo") / "demo"
    return generate_demo_data(catalogue, DemoOptions(out_dir=out, patients=150, seed=2026))


def _input(demo: DemoResult, config: RegistrationConfig, fmt: str) -> Path:
    folder = demo.out_dir / fmt
    return folder if fmt.startswith("csv") else folder / config.id


def _by_key(result: Extract, dataset: str, key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in result.datasets[dataset].clinical.to_pylist()}


def _bad_rows(demo: DemoResult, config: RegistrationConfig) -> dict[str, list[dict[str, Any]]]:
    data = json.loads((demo.out_dir / BAD_ROWS_FILE).read_text(encoding="utf-8"))
    registration = data["registrations"].get(config.id, {})
    return {name: list(spec.get("rows", [])) for name, spec in registration.items()}


@pytest.mark.parametrize("registration_id", ["dica-dsaa", "ldtr", "nkr-borst"])
def test_demo_data_extracts_the_same_in_every_format(
    demo: DemoResult, catalogue: Catalogue, registration_id: str
) -> None:
    config = catalogue.get(registration_id)
    results = {fmt: extract(config, _input(demo, config, fmt), YEAR) for fmt in FORMATS}
    assert results["csv-utf8"].source_kind == "csv" and results["fhir-bulk"].source_kind == "fhir"
    bad = _bad_rows(demo, config)
    generated = demo.registrations[registration_id].records

    for dataset in config.dictionary.datasets:
        key = dataset.key[0]
        tables = {fmt: results[fmt].datasets[dataset.name] for fmt in FORMATS}
        # every generated record is either in the period, outside it, or an orphan
        for fmt, table in tables.items():
            accounted = table.num_rows + table.rows_outside_period + len(table.orphan_row_refs)
            assert accounted == generated[dataset.name], (fmt, dataset.name)
            assert table.num_rows > 0, (fmt, dataset.name)

        # the two CSV encodings agree, and so do NDJSON and Bundles, identity included
        for first, second in (("csv-utf8", "csv-cp1252"), ("fhir-bulk", "fhir-bundles")):
            assert tables[first].clinical.equals(tables[second].clinical), (first, second)
            assert tables[first].identity.equals(tables[second].identity), (first, second)

        # CSV and FHIR agree on every clinical value except the CSV-only date-format faults
        csv_rows = _by_key(results["csv-utf8"], dataset.name, key)
        fhir_rows = _by_key(results["fhir-bulk"], dataset.name, key)
        assert csv_rows.keys() == fhir_rows.keys()
        csv_only = {
            (row["key"][key], row["variable"])
            for row in bad.get(dataset.name, [])
            if row["kind"] == "wrong_date_format" and row["formats"] == ["csv"]
        }
        for record_key, row in csv_rows.items():
            for variable, value in row.items():
                if (record_key, variable) in csv_only:
                    assert value is None and fhir_rows[record_key][variable] is not None
                else:
                    assert value == fhir_rows[record_key][variable], (record_key, variable)

        # each wrong date format in the period is a type problem at that record's row
        refs = dict(zip(
            tables["csv-utf8"].clinical.column(key).to_pylist(),
            tables["csv-utf8"].row_refs.to_pylist(),
            strict=True,
        ))  # fmt: skip
        problems = {(p.row_ref, p.variable) for p in tables["csv-utf8"].type_problems}
        for record_key, variable in csv_only:
            if record_key in refs:
                assert (refs[record_key], variable) in problems


@pytest.mark.parametrize("registration_id", ["dica-dsaa", "ldtr", "nkr-borst"])
def test_demo_periods_partition_the_year_and_identity_stays_out_of_clinical_tables(
    demo: DemoResult, catalogue: Catalogue, registration_id: str
) -> None:
    config = catalogue.get(registration_id)
    folder = _input(demo, config, "csv-utf8")
    year = extract(config, folder, YEAR)
    periods = list(periods_between(date(2026, 1, 1), date(2027, 1, 1), config.frequency))
    assert len(periods) == {"year": 1, "quarter": 4, "month": 12}[config.frequency]
    for dataset in config.dictionary.datasets:
        in_periods = sum(
            extract(config, folder, period).datasets[dataset.name].num_rows for period in periods
        )
        assert in_periods == year.datasets[dataset.name].num_rows, dataset.name

    for fmt in ("csv-utf8", "fhir-bulk"):
        result = extract(config, _input(demo, config, fmt), YEAR)
        for dataset in result.datasets.values():
            identity = {
                value
                for row in dataset.identity.to_pylist()
                for name, value in row.items()
                if name in {"bsn", "mrn", "patient_id", "own_name", "partner_name", "birth_date",
                            "postcode"} and value and len(value) >= 4
            }  # fmt: skip
            cells = {str(value) for row in dataset.clinical.to_pylist() for value in row.values()}
            assert not identity & cells, (fmt, dataset.name)
