"""A FHIR export written in UTC gives the records the CSV export gives (decision 0390).

Many FHIR servers write every dateTime in UTC (``...Z``). The demo writes
Amsterdam offsets; here the same FHIR bulk export is rewritten to UTC and must
still extract, month by month, to exactly the CSV export's records and values:
the same Amsterdam wall-clock times and every record in the same month.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from demo_support import bad_rows

from aanlevering.catalogue import Catalogue
from aanlevering.extract import extract
from aanlevering.periods import Period, periods_between

_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?[+-]\d{2}:\d{2}$")


def _in_utc(value: Any, changed: list[str]) -> Any:
    """``value`` with every dateTime that has an offset rewritten as the same instant in UTC."""
    if isinstance(value, dict):
        return {k: _in_utc(v, changed) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_utc(v, changed) for v in value]
    if isinstance(value, str) and _WITH_OFFSET.match(value):
        moment = datetime.fromisoformat(value).astimezone(UTC)
        changed.append(value)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _utc_export(source: Path, target: Path) -> list[str]:
    shutil.copytree(source, target)
    changed: list[str] = []
    for path in target.glob("*.ndjson"):
        lines = path.read_text(encoding="utf-8").splitlines()
        rewritten = [json.dumps(_in_utc(json.loads(line), changed)) for line in lines if line]
        path.write_text("\n".join(rewritten) + "\n", encoding="utf-8")
    return changed


def _rows(data: Any, dataset: str, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in data.datasets[dataset].clinical.to_pylist()}


def test_an_export_in_utc_extracts_to_the_csv_records_month_by_month(
    demo_dir: Path, catalogue: Catalogue, tmp_path: Path
) -> None:
    config = catalogue.get("ldtr")
    changed = _utc_export(demo_dir / "fhir-bulk" / "ldtr", tmp_path / "utc")
    assert len(changed) > 50  # the export really had local times to rewrite
    months = list(
        periods_between(Period.parse("2026-01").start, Period.parse("2027").start, "month")
    )
    spoilt = bad_rows(demo_dir)["registrations"]["ldtr"]
    compared = 0
    for month in months:
        csv = extract(config, demo_dir / "csv-utf8", month)
        utc = extract(config, tmp_path / "utc", month)
        for dataset in csv.datasets:
            key = config.dictionary.dataset(dataset).key[0]
            csv_only = {  # values the demo spoils in the CSV files only
                (entry["key"][key], entry["variable"])
                for entry in spoilt[dataset]["rows"]
                if entry["formats"] == ["csv"]
            }
            reference, rows = _rows(csv, dataset, key), _rows(utc, dataset, key)
            assert rows.keys() == reference.keys(), (month.label, dataset)
            for record, row in rows.items():
                for variable in ("datum_ongeval", "aankomst_seh", "datum_ontslag"):
                    if variable in row and (record, variable) not in csv_only:
                        assert row[variable] == reference[record][variable], (record, variable)
                        compared += 1
    assert compared > 100
