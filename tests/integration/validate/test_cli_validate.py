"""``aanlevering validate``: exit 0 (valid or warnings only), 1 (blocked), 2 (unusable input).

Runs the real command in-process (GX is imported once for the module) on
generated demo exports, with the event log in a temporary SQLite file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.cli.main import main
from aanlevering.demo import DemoOptions, generate_demo_data
from aanlevering.events import open_event_store

REPO = Path(__file__).resolve().parents[3]
CATALOGUE_DIR = REPO / "schemas" / "catalogue"
CATALOGUE = load_catalogue(CATALOGUE_DIR)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cli-demo")
    bad = base / "bad"
    clean = base / "clean"
    only = ("dica-dsaa", "nkr-borst")
    generate_demo_data(CATALOGUE, DemoOptions(bad, 200, 11, registrations=only))
    generate_demo_data(CATALOGUE, DemoOptions(clean, 60, 12, registrations=only, bad_share=0))
    return {"bad": bad, "clean": clean}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("AANLEVERING_HOME", str(home))
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", f"sqlite:///{home / 'events.sqlite3'}")
    monkeypatch.setenv("AANLEVERING_PROVIDER_TYPE", "hospital")
    monkeypatch.delenv("AANLEVERING_CATALOGUE", raising=False)
    return home


def validate(*args: str) -> int:
    return main(["validate", *args])


def test_a_clean_extract_exits_0_and_records_the_validation(
    demo: dict[str, Path], home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = validate(
        "--registration",
        "nkr-borst",
        "--input",
        str(demo["clean"] / "csv-utf8"),
        "--period",
        "2026",
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASSED: every check passed" in out
    report_dir = home / "reports" / "nkr-borst" / "2026"  # the default report folder
    assert str(report_dir / "validation-report.html") in out
    report = json.loads((report_dir / "validation-report.json").read_text("utf-8"))
    assert report["outcome"]["passed"] is True
    assert (report_dir / "data-docs" / "index.html").is_file()
    with open_event_store(f"sqlite:///{home / 'events.sqlite3'}") as store:
        events = [r.to_event() for r in store.read_stream("validation-nkr-borst-2026")]
    assert len(events) == 1
    assert events[0].passed  # type: ignore[attr-defined]


def test_blocking_failures_exit_1_with_reports_and_a_summary_without_record_contents(
    demo: dict[str, Path], home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    csv = demo["bad"] / "csv-cp1252"
    code = validate(
        "--registration", "dica-dsaa", "--input", str(csv), "--period", "2026",
        "--report-dir", str(reports), "--no-data-docs",
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "BLOCKED" in captured.out
    assert (
        "FAILED [error] operatie.type_aneurysma.in_set" in captured.out or "FAILED" in captured.out
    )
    assert (reports / "validation-report.json").is_file()
    assert (reports / "validation-report.html").is_file()
    assert not (reports / "data-docs").exists()
    lines = (csv / "dsaa_operaties_2026.csv").read_text(encoding="cp1252").splitlines()
    header = lines[0].split(";")
    for line in lines[1:]:
        cells = dict(zip(header, line.split(";"), strict=False))
        for column in ("BSN", "GESLACHTSNAAM", "PATIENTNUMMER", "GEBOORTEDATUM", "POSTCODE"):
            if cells.get(column):
                assert cells[column] not in captured.out
                assert cells[column] not in captured.err


def test_warnings_only_exit_0_and_say_so(
    demo: dict[str, Path], home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE_DIR, catalogue)
    file = catalogue / "registrations" / "dica-dsaa.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data["validation"]["block_on"] = "never"
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code = validate(
        "--catalogue", str(catalogue), "--registration", "dica-dsaa",
        "--input", str(demo["bad"] / "csv-utf8"), "--period", "2026",
        "--report-dir", str(tmp_path / "r"), "--no-data-docs",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "PASSED WITH WARNINGS" in out
    assert "block on: never" in out


def _bad_inputs(demo: dict[str, Path], tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    csv = demo["bad"] / "csv-utf8"
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"
    shutil.copytree(csv, broken)
    operaties = broken / "dsaa_operaties_2026.csv"
    text = operaties.read_text(encoding="utf-8-sig").replace("OPERATIEDATUM", "OK_DATUM", 1)
    operaties.write_text(text, encoding="utf-8")
    ndjson = tmp_path / "ndjson"
    shutil.copytree(demo["bad"] / "fhir-bulk" / "dica-dsaa", ndjson)
    with (ndjson / "Procedure.ndjson").open("a", encoding="utf-8") as handle:
        handle.write('{"resourceType": "Procedure", "id": \n')
    a_file = tmp_path / "report-file"
    a_file.write_text("not a folder", encoding="utf-8")
    base = ["--registration", "dica-dsaa", "--input", str(csv), "--period", "2026"]
    return {
        "no arguments": ([], "needs --registration, --input, --period"),
        "unknown registration": (
            ["--registration", "nkr-long", "--input", str(csv), "--period", "2026"],
            "unknown registration 'nkr-long'",
        ),
        "bad period": (
            ["--registration", "dica-dsaa", "--input", str(csv), "--period", "2026-Q5"],
            "period '2026-Q5'",
        ),
        "missing input": (
            ["--registration", "dica-dsaa", "--input", str(tmp_path / "nope"), "--period", "2026"],
            "does not exist",
        ),
        "empty input folder": (
            ["--registration", "dica-dsaa", "--input", str(empty), "--period", "2026"],
            "nothing to extract for dica-dsaa",
        ),
        "csv with a renamed column": (
            ["--registration", "dica-dsaa", "--input", str(broken), "--period", "2026"],
            "OK_DATUM",
        ),
        "malformed ndjson": (
            ["--registration", "dica-dsaa", "--input", str(ndjson), "--period", "2026"],
            "Procedure.ndjson",
        ),
        "report dir is a file": ([*base, "--report-dir", str(a_file)], "is not a folder"),
        "bad catalogue": ([*base, "--catalogue", str(empty)], "no 'registrations' folder"),
    }


CASES = [
    "no arguments",
    "unknown registration",
    "bad period",
    "missing input",
    "empty input folder",
    "csv with a renamed column",
    "malformed ndjson",
    "report dir is a file",
    "bad catalogue",
]


@pytest.mark.parametrize("case", CASES)
def test_unusable_input_or_config_exits_2_with_a_clear_message(
    case: str,
    demo: dict[str, Path],
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args, message = _bad_inputs(demo, tmp_path)[case]
    code = validate(*args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ")
    assert message in err
    assert not (home / "reports").exists()


def test_an_unknown_provider_type_exits_2(
    demo: dict[str, Path],
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AANLEVERING_PROVIDER_TYPE", "apotheek")
    code = validate(
        "--registration", "dica-dsaa", "--input", str(demo["bad"] / "csv-utf8"), "--period", "2026"
    )
    assert code == 2
    assert "provider type 'apotheek'" in capsys.readouterr().err


def test_check_suites_passes_on_the_committed_suites_and_fails_on_stale_ones(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert validate("--check-suites") == 0
    assert "are current" in capsys.readouterr().out
    gx_dir = tmp_path / "gx"
    shutil.copytree(
        REPO / "great_expectations", gx_dir, ignore=shutil.ignore_patterns("uncommitted")
    )
    (gx_dir / "expectations" / "ltr-2026_1-trauma-umc.json").unlink()
    assert validate("--check-suites", "--gx-dir", str(gx_dir)) == 2
    err = capsys.readouterr().err
    assert "ltr-2026_1-trauma-umc" in err
    assert "--regenerate-suites" in err
    assert validate("--regenerate-suites", "--gx-dir", str(gx_dir)) == 0
    assert "wrote ltr-2026_1-trauma-umc" in capsys.readouterr().out
    assert (gx_dir / "expectations" / "ltr-2026_1-trauma-umc.json").is_file()
    assert validate("--check-suites", "--gx-dir", str(gx_dir)) == 0
