"""Linked resources of another patient, left out by the extract, are reported (decision 0570).

The registry holder's report gets a warning per dataset with the records
concerned and the count of resources, never where those resources are (their
file may be named after the other patient); the hospital's report gets the
pairs; the run's accounting and its one-line description count them per
dataset; the findings go with their record through the run folder and the
opt-out filter.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.accounting import Accounting
from aanlevering.extract.model import Extract, ExtractedDataset
from aanlevering.periods import Period
from aanlevering.pipeline.operations import _filter
from aanlevering.runs.folder import RunFolder
from aanlevering.validate.decision import decide
from aanlevering.validate.other_patient import (
    hospital_section,
    left_out,
    other_patient_results,
)
from aanlevering.validate.report import ReportContext, add_accounting, build_report, write_report
from aanlevering.validate.results import DatasetResult

REPO = Path(__file__).resolve().parents[3]
PAIRS = (
    ("Encounter.ndjson:1", "bundle-P123456.json:entry[4]"),
    ("Encounter.ndjson:1", "Observation.ndjson:7"),
    ("Encounter.ndjson:3", "Observation.ndjson:7"),
)


def _dataset(pairs: tuple[tuple[str, str], ...] = PAIRS) -> ExtractedDataset:
    refs = ["Encounter.ndjson:1", "Encounter.ndjson:2", "Encounter.ndjson:3"]
    return ExtractedDataset(
        name="trauma",
        clinical=pa.table({"gcs": pa.array([15, None, 14], pa.int64())}),
        identity=pa.table({"patient_id": ["a", "b", "c"]}),
        row_refs=pa.array(refs),
        other_patient_links=pairs,
    )


def test_the_registry_holders_report_gets_a_warning_with_records_and_a_count() -> None:
    (result,) = other_patient_results([_dataset(), _dataset(())], limit=20)
    assert result.rule_id == "trauma.linked_resources.patient"
    assert result.severity == "warning" and not result.success
    assert result.failing_row_refs == ("Encounter.ndjson:1", "Encounter.ndjson:3")
    assert result.unexpected_count == 2 and result.element_count == 3
    assert result.note == "2 linked resource(s) of another patient left out"
    text = repr(result)
    assert "Observation.ndjson" not in text and "P123456" not in text  # never where they are
    datasets = (DatasetResult("trauma", 3, "s", "f", "src", (result,)),)
    decision = decide(datasets, "error")
    assert not decision.blocked and decision.failed_warnings == 1
    assert decide(datasets, "warning").blocked  # a warning like any other
    assert other_patient_results([_dataset(())], limit=20) == []


def test_the_hospital_gets_the_pairs_and_the_count_is_per_resource() -> None:
    assert left_out([_dataset(), _dataset(PAIRS[:1])]) == 3
    assert hospital_section([_dataset(), _dataset(())]) == {"trauma": [list(p) for p in PAIRS]}


def test_the_accounting_counts_them_per_dataset_and_says_so(tmp_path: Path) -> None:
    accounting = Accounting(records_read=3, delivered=3, other_patient={"trauma": 2})
    assert Accounting.from_summary(accounting.as_summary()) == accounting
    assert (
        "linked resources of another patient left out (not delivered): trauma 2"
        in accounting.describe()
    )
    assert "linked resources" not in Accounting(records_read=3, delivered=3).describe()
    config = load_catalogue(REPO / "schemas" / "catalogue").get("ldtr")
    about = ReportContext(
        config, Period.parse("2026-05"), "hospital", "h", "fhir", datetime.now(UTC)
    )
    write_report(build_report(about, [], decide([], "error"), {}), tmp_path)
    assert add_accounting(tmp_path, accounting.as_summary())
    report = json.loads((tmp_path / "validation-report.json").read_text("utf-8"))
    assert report["accounting"]["other_patient"] == {"trauma": 2}
    html = (tmp_path / "validation-report.html").read_text("utf-8")
    assert (
        "<tr><th>Resources linked to records of trauma that name another patient "
        '(left out, not delivered)</th><td class="num">2</td></tr>'
    ) in html


def test_the_findings_go_with_their_record_through_the_folder_and_the_opt_out_filter(
    tmp_path: Path,
) -> None:
    extract = Extract("ldtr", Period.parse("2026-05"), "fhir", {"trauma": _dataset()})
    folder = RunFolder(tmp_path / "run")
    folder.update(registration="ldtr", period="2026-05", run_id="r", today=str(date.today()))
    folder.save_extract("extract", extract)
    loaded, _ = folder.load_extract("extract")
    assert loaded.datasets["trauma"].other_patient_links == PAIRS
    kept = _filter(loaded.datasets["trauma"], pa.array([True, True, False]))
    assert kept.other_patient_links == PAIRS[:2]
    assert kept.other_patient_resources == ("bundle-P123456.json:entry[4]", "Observation.ndjson:7")
