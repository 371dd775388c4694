"""Identity rows that would lose their pseudonyms are flagged and counted in both reports.

A clean demo export of nkr-borst (NGGV, C, MRN) with planted identity
problems: an impossible birth date (31-02-1970), one before 1900, a postcode
that is none, a patient number with characters an MRN cannot have. The real
``aanlevering validate`` runs on it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.cli.main import main
from aanlevering.demo import DemoOptions, generate_demo_data

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = load_catalogue(REPO / "schemas" / "catalogue")
PLANTED = {2: ("birth_date", "31-02-1970"), 3: ("birth_date", "12-05-1895"),
           4: ("postcode", "ABCD 12"), 5: ("mrn", "ZH 77$")}  # fmt: skip


@pytest.fixture
def export(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """The clean export with the planted values; the file, and the line of each planted row."""
    generate_demo_data(
        CATALOGUE, DemoOptions(tmp_path / "demo", 40, 7, registrations=("nkr-borst",), bad_share=0)
    )
    folder = tmp_path / "demo" / "csv-utf8"
    config = CATALOGUE.get("nkr-borst")
    assert config.csv_source is not None
    dataset = config.period_dataset
    source = config.csv_source.datasets[dataset]
    column_of = {field: column for column, field in source.identity.items()}
    column_of.setdefault("mrn", column_of["patient_id"])  # the patient number is the MRN
    path = next(folder.glob(source.file))
    text = path.read_text(encoding="utf-8-sig")
    delimiter = ";" if text.splitlines()[0].count(";") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = rows[0]
    for row, (field, value) in PLANTED.items():
        rows[row - 1][header.index(column_of[field])] = value
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return folder, path, [f"{path.name}:{row}" for row in PLANTED]


def test_identity_problems_are_warnings_counted_for_the_registry_holder_and_listed_for_the_hospital(
    export: tuple[Path, Path, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, _, lines = export
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    reports = tmp_path / "reports"

    code = main(["validate", "--registration", "nkr-borst", "--input", str(folder),
                 "--period", "2026", "--report-dir", str(reports), "--no-data-docs"])  # fmt: skip

    out = capsys.readouterr().out
    # the impossible date also leaves the dictionary's birth year empty (an error that blocks);
    # the identity checks themselves are warnings
    assert code == 1, out
    assert "FAILED [warning] tumor.identity.birth_date: 2 of" in out
    assert "FAILED [warning] tumor.identity.postcode: 1 of" in out
    assert "FAILED [warning] tumor.identity.mrn: 1 of" in out
    report = json.loads((reports / "validation-report.json").read_text(encoding="utf-8"))
    identity = {
        c["rule_id"].rsplit(".", 1)[1]: c
        for d in report["datasets"]
        for c in d["checks"]
        if c["kind"] == "identity"
    }
    assert identity["birth_date"]["unexpected_count"] == 2
    assert "not a real calendar date: 1" in identity["birth_date"]["note"]
    assert "before 1900" in identity["birth_date"]["note"]
    assert identity["postcode"]["unexpected_count"] == 1
    assert identity["mrn"]["unexpected_count"] == 1
    assert all(c["failing_rows"] == [] for c in identity.values())
    delivered_text = (reports / "validation-report.json").read_text(encoding="utf-8")
    delivered_text += (reports / "validation-report.html").read_text(encoding="utf-8")
    # no values; and not which postcode or MRN failed for which row (the birth-date rows are
    # listed, by the dictionary's own birth-year check, as any clinical failure is)
    for value in ("31-02-1970", "12-05-1895", "ABCD 12", "ZH 77$", *lines[2:]):
        assert value not in delivered_text

    hospital = json.loads((reports / "hospital-report.json").read_text(encoding="utf-8"))
    failing = {f["field"]: f["failing_rows"] for f in hospital["identity"] if f["failed"]}
    assert failing == {"birth_date": lines[:2], "postcode": [lines[2]], "mrn": [lines[3]]}
    assert "31-02-1970" not in json.dumps(hospital)
