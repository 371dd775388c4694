"""``registrations check ID --sample PATH``: per-variable fit of a mapping to a sample export."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.cli.main import main

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
EXAMPLES = ("dica-dsaa", "ldtr", "nkr-borst")
IDENTITY_COLUMNS = ("PATIENTNUMMER", "BSN", "GESLACHTSNAAM", "PARTNERNAAM", "GEBOORTEDATUM",
                    "POSTCODE")  # fmt: skip


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


def _identifiers(demo: Path) -> set[str]:
    found: set[str] = set()
    for path in (demo / "csv-utf8").glob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                found.update(
                    row[c] for c in IDENTITY_COLUMNS if c in row and len(row[c] or "") >= 5
                )
    return found


def _check(
    catalogue: Path, registration: str, sample: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    code = main(["registrations", "--catalogue", str(catalogue), "check", registration,
                 "--sample", str(sample)])  # fmt: skip
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("registration", EXAMPLES)
def test_examples_fit_their_demo_data_csv_and_fhir(
    registration: str,
    demo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("AANLEVERING_HOME", str(home))
    before = _snapshot(demo)
    config = load_catalogue(CATALOGUE).get(registration)
    secrets = _identifiers(demo)
    assert secrets, "the demo CSVs hold identifiers to look for"
    for sample, kind in ((demo / "csv-utf8", "csv"), (demo / "fhir-bulk" / registration, "fhir")):
        code, out = _check(CATALOGUE, registration, sample, capsys)
        assert code == 0, out
        assert f"({kind})" in out
        for dataset in config.dictionary.datasets:
            assert f"dataset {dataset.name}: " in out
            for variable in dataset.variables:
                assert f"  {variable.name} " in out, variable.name
        for pseudonym_type in config.pseudonymisation.types:
            assert f"  {pseudonym_type} " in out
        assert "fits: every variable" in out and "FAIL" not in out
        # counts only: no identifier of the sample is printed
        assert not [s for s in secrets if s in out]
    # nothing written: not under AANLEVERING_HOME, not next to the sample
    assert not home.exists() or not any(home.rglob("*"))
    assert _snapshot(demo) == before


def test_a_csv_mapping_with_swapped_columns_is_flagged(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    file = catalogue / "registrations" / "dica-dsaa.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    columns = data["source"]["csv"]["datasets"]["operatie"]["columns"]
    columns["URGENTIE"], columns["TECHNIEK"] = "techniek", "urgentie"
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, out = _check(catalogue, "dica-dsaa", demo / "csv-utf8", capsys)
    assert code == 1, out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "FAIL: most values are outside the option set or range" in lines["techniek"]
    assert "URGENTIE" in lines["techniek"]
    assert "FAIL" in lines["urgentie"]
    assert lines["asa_klasse"].endswith("ok")
    assert "does not fit: 2 failing check(s)" in out


def test_a_fhir_mapping_that_finds_nothing_or_wrong_codes_is_flagged(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    file = catalogue / "registrations" / "ldtr.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    variables = data["source"]["fhir"]["datasets"]["trauma"]["variables"]
    variables["gcs"]["where"]["codes"] = ["9269-0"]  # a typo in the LOINC code
    variables["vervoer"] = "status"  # statically fine (a code), but not the transport code
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, out = _check(catalogue, "ldtr", demo / "fhir-bulk" / "ldtr", capsys)
    assert code == 1, out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "FAIL: maps to nothing in the sample" in lines["gcs"]
    assert "Observation[encounter].valueInteger" in lines["gcs"]
    assert "FAIL: most values are outside the option set or range" in lines["vervoer"]


def test_identity_that_gives_no_pseudonym_is_flagged(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    file = catalogue / "registrations" / "nkr-borst.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    identity = data["source"]["csv"]["datasets"]["tumor"]["identity"]
    identity["POSTCODE"], identity["GEBOORTEDATUM"] = "birth_date", "postcode"
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, out = _check(catalogue, "nkr-borst", demo / "csv-utf8", capsys)
    assert code == 1, out
    assert "FAIL: most persons would get no NGGV pseudonym" in out
    assert "FAIL: most persons would get no C pseudonym" in out
    assert not [s for s in _identifiers(demo) if s in out]


def test_sample_without_a_registration_id_is_refused(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["registrations", "--catalogue", str(CATALOGUE), "check", "--sample",
                 str(demo / "csv-utf8")])  # fmt: skip
    assert code == 2
    assert "--sample needs the registration to check" in capsys.readouterr().err
