"""A CLI error names no per-patient input file; it names the folder and the file's place (0730).

Real CLI process, real extract: a CSV export split per patient (matched by the
catalogue's glob) and a FHIR Bundle per patient named after the patient.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXTRACT_TESTS = Path(__file__).resolve().parents[1] / "extract"
PATIENT_NUMBER = "0069386181"


def _validate(
    tmp_path: Path, registration: str, source: Path, period: str, codes: tuple[int, ...] = (2,)
) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", "--verbose", "validate",
         "--registration", registration, "--input", str(source), "--period", period,
         "--no-data-docs", "--report-dir", str(tmp_path / "reports")],
        check=False, capture_output=True, text=True, timeout=120,
        env={**os.environ, "AANLEVERING_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert done.returncode in codes, done.stderr
    logs = "".join(p.read_text("utf-8") for p in (tmp_path / "home").rglob("*.log"))
    return done.stdout + done.stderr + logs


def test_a_damaged_per_patient_csv_file_is_named_by_folder_and_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(EXTRACT_TESTS))
    from extract_fixtures import dsaa_export

    folder = dsaa_export(tmp_path / "export")
    path = folder / f"dsaa_operaties_{PATIENT_NUMBER}.csv"
    (folder / "dsaa_operaties_2026.csv").rename(path)
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(
        b"\n".join([lines[0], lines[1], b"", lines[2].replace(b"OPEN", b'"OPEN'), b""])
    )

    printed = _validate(tmp_path, "dica-dsaa", folder, "2026")

    assert PATIENT_NUMBER not in printed and PATIENT_NUMBER.lstrip("0") not in printed
    # still useful: the folder, the file's place and kind, the line
    assert f"{folder}/<input file 2 of 2, .csv, name withheld>: line 4" in printed


def test_a_broken_per_patient_bundle_is_named_by_folder_and_place(tmp_path: Path) -> None:
    folder = tmp_path / "bundles"
    folder.mkdir()
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": []}
    (folder / "bundle_a.json").write_text(json.dumps(bundle), encoding="utf-8")
    (folder / "patient_1990-05-17_jansen.json").write_text('{"resourceType": ', encoding="utf-8")

    printed = _validate(tmp_path, "nkr-borst", folder, "2026")

    assert "1990-05-17" not in printed and "jansen" not in printed
    assert f"{folder}/<input file 2 of 2, .json, name withheld>" in printed


def test_reading_a_per_patient_csv_file_is_logged_by_folder_and_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(EXTRACT_TESTS))
    from extract_fixtures import dsaa_export

    folder = dsaa_export(tmp_path / "export")
    (folder / "dsaa_operaties_2026.csv").rename(folder / f"dsaa_operaties_{PATIENT_NUMBER}.csv")

    printed = _validate(tmp_path, "dica-dsaa", folder, "2026", codes=(0, 1))

    assert f"reading {folder}/<input file 2 of 2, .csv, name withheld> for dica-dsaa" in printed
    assert PATIENT_NUMBER not in printed and PATIENT_NUMBER.lstrip("0") not in printed
