"""A related record whose parent record is another patient's is a warning (decision 0572).

A complication names its operation (``operatie_id``) and its own patient
(``PATIENTNUMMER``). The demo's clean dica-dsaa export has none that differ; one
complication moved to another patient's operation, and a relation mapped to the
wrong column, are reported as a warning on the complication by row reference,
with no patient number in either report; the record keeps its own patient.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.model import Relation
from aanlevering.demo import DemoOptions, generate_demo_data
from aanlevering.extract import extract
from aanlevering.extract.model import ExtractedDataset
from aanlevering.periods import Period
from aanlevering.validate.related_patient import mismatched_rows
from aanlevering.validate.service import validate_extract

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = load_catalogue(REPO / "schemas" / "catalogue")
YEAR = Period.parse("2026")
RULE = "complicatie.operatie_id.patient"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    options = DemoOptions(
        out_dir=out,
        patients=120,
        seed=7,
        registrations=("dica-dsaa",),
        bad_share=0.0,
        formats=frozenset({"csv"}),
    )
    generate_demo_data(CATALOGUE, options)
    return out / "csv-utf8"


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]], str]:
    text = path.read_text(encoding="utf-8-sig")
    delimiter = csv.Sniffer().sniff(text.splitlines()[0]).delimiter
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    return list(reader.fieldnames or ()), list(reader), delimiter


def _write(path: Path, fields: list[str], rows: list[dict[str, str]], delimiter: str) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fields, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)


def _validate(folder: Path, report_dir: Path) -> dict[str, Any]:
    config = CATALOGUE.get("dica-dsaa")
    data = extract(config, folder, YEAR)
    outcome = validate_extract(
        data, config, provider_type="hospital", report_dir=report_dir, data_docs=False
    )
    report = json.loads(Path(outcome.report_paths["json"]).read_text("utf-8"))
    checks = {c["rule_id"]: c for d in report["datasets"] for c in d["checks"]}
    return {"outcome": outcome, "checks": checks, "dir": report_dir}


def _copy(export: Path, target: Path) -> Path:
    target.mkdir()
    for path in export.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def test_a_clean_export_has_no_such_finding(export: Path, tmp_path: Path) -> None:
    run = _validate(export, tmp_path / "reports")
    assert RULE not in run["checks"]
    assert run["outcome"].passed


def test_a_complication_on_another_patients_operation_is_a_warning(
    export: Path, tmp_path: Path
) -> None:
    folder = _copy(export, tmp_path / "export")
    (operations,) = folder.glob("dsaa_operaties*.csv")
    (complications,) = folder.glob("dsaa_complicaties*.csv")
    _, operation_rows, _ = _rows(operations)
    fields, rows, delimiter = _rows(complications)
    patient_of = {row["OK_ID"]: row["PATIENTNUMMER"] for row in operation_rows}
    moved = next(
        i
        for i, row in enumerate(rows)
        if row["OK_ID"] in patient_of and row["DATUM"].startswith("2026")
    )
    in_period = {row["OK_ID"] for row in operation_rows if row["OPERATIEDATUM"].endswith("2026")}
    other = next(
        ok
        for ok, patient in patient_of.items()
        if patient != rows[moved]["PATIENTNUMMER"] and ok in in_period
    )
    rows[moved]["OK_ID"] = other  # attached to another patient's operation
    _write(complications, fields, rows, delimiter)

    run = _validate(folder, tmp_path / "reports")
    check = run["checks"][RULE]
    assert not check["passed"] and check["severity"] == "warning"
    assert check["failing_rows"] == [f"{complications.name}:{moved + 2}"]
    assert not run["outcome"].blocked  # dica-dsaa blocks on errors only
    for name in ("validation-report.json", "validation-report.html"):
        text = (run["dir"] / name).read_text(encoding="utf-8")
        assert rows[moved]["PATIENTNUMMER"] not in text
        assert patient_of[other] not in text


def test_a_relation_mapped_to_the_wrong_column_shows_as_many_records(
    export: Path, tmp_path: Path
) -> None:
    """Every complication's OK_ID read from another column: the finding names most of them."""
    folder = _copy(export, tmp_path / "export")
    (complications,) = folder.glob("dsaa_complicaties*.csv")
    fields, rows, delimiter = _rows(complications)
    (operations,) = folder.glob("dsaa_operaties*.csv")
    _, operation_rows, _ = _rows(operations)
    ids = [row["OK_ID"] for row in operation_rows]
    for row in rows:  # an export whose OK_ID column holds the operation id one row further
        at = ids.index(row["OK_ID"]) if row["OK_ID"] in ids else -1
        row["OK_ID"] = ids[(at + 1) % len(ids)]
    _write(complications, fields, rows, delimiter)
    run = _validate(folder, tmp_path / "reports")
    check = run["checks"][RULE]
    assert not check["passed"] and check["severity"] == "warning"
    assert check["unexpected_percent"] > 50


def test_relation_columns_of_different_types_are_compared_as_text() -> None:
    """A parent key read as a number and a child's as text still join, and never raise."""
    parent = ExtractedDataset(
        name="operatie",
        clinical=pa.table({"operatie_id": pa.array([1, 2], pa.int64())}),
        identity=pa.table({"patient_id": ["P1", "P2"]}),
        row_refs=pa.array(["o.csv:2", "o.csv:3"]),
    )
    child = ExtractedDataset(
        name="complicatie",
        clinical=pa.table({"operatie_id": ["1", "2", "x", None]}),
        identity=pa.table({"patient_id": ["P1", "P1", "P2", "P2"]}),
        row_refs=pa.array(["c.csv:2", "c.csv:3", "c.csv:4", "c.csv:5"]),
    )
    relation = Relation("operatie_id", "operatie", "operatie_id")
    assert mismatched_rows(child, parent, relation).tolist() == [1]
