"""A file named after a patient does not put that patient in the registry holder's report.

Row references are ``file:line``, and the file name is the hospital's: an
export split per patient (``dsaa_operaties_<patient number>.csv``, matched by
the catalogue's glob) would carry patient numbers, BSNs or names into
``validation-report.json``/``.html``. Decision 0375: such a name is withheld
there (the hospital's own report and data docs keep it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.cli.main import main
from aanlevering.demo import DemoOptions, generate_demo_data

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = load_catalogue(REPO / "schemas" / "catalogue")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("AANLEVERING_HOME", str(home))
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", f"sqlite:///{home / 'events.sqlite3'}")
    monkeypatch.setenv("AANLEVERING_PROVIDER_TYPE", "hospital")
    monkeypatch.delenv("AANLEVERING_CATALOGUE", raising=False)
    return home


def test_a_file_name_holding_a_patients_identifiers_is_withheld_from_the_report(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = tmp_path / "demo"
    generate_demo_data(CATALOGUE, DemoOptions(demo, 60, 11, registrations=("dica-dsaa",)))
    split = tmp_path / "split"
    split.mkdir()
    identifiers: list[str] = []
    for file in (demo / "csv-utf8").glob("dsaa_*.csv"):
        lines = file.read_text(encoding="utf-8-sig").splitlines()
        if "operaties" not in file.name:
            (split / file.name).write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
            continue
        header = lines[0].split(";")
        for line in lines[1:]:  # one file per patient, named after the patient
            row = dict(zip(header, line.split(";"), strict=True))
            mrn, bsn, name = row["PATIENTNUMMER"], row["BSN"], row["GESLACHTSNAAM"]
            identifiers += [mrn, bsn]
            name_file = split / f"dsaa_operaties_{name}-{bsn}_{mrn}.csv"
            name_file.write_text(f"{lines[0]}\n{line}\n", encoding="utf-8-sig")
    code = main(
        ["validate", "--registration", "dica-dsaa", "--input", str(split), "--period", "2026"]
    )
    assert code in (0, 1), capsys.readouterr().out
    folder = home / "reports" / "dica-dsaa" / "2026"
    report = json.loads((folder / "validation-report.json").read_text(encoding="utf-8"))
    refs = [
        ref
        for dataset in report["datasets"]
        if dataset["name"] == "operatie"
        for check in dataset["checks"]
        for ref in check["failing_rows"]
    ]
    assert refs, "the demo's bad rows fail some operatie checks"
    assert all(ref.startswith("input file ") and ref.endswith(":2") for ref in refs), refs
    for name in ("validation-report.json", "validation-report.html"):
        text = (folder / name).read_text(encoding="utf-8")
        assert "dsaa_operaties_" not in text
        leaked = [value for value in identifiers if value in text]
        assert not leaked, f"{name} holds {len(leaked)} identifier(s)"
    # a file name that holds no identifier is still named (complicaties)
    others = [
        ref
        for dataset in report["datasets"]
        if dataset["name"] == "complicatie"
        for check in dataset["checks"]
        for ref in check["failing_rows"]
    ]
    assert all(ref.startswith("dsaa_complicaties_2026.csv:") for ref in others)
