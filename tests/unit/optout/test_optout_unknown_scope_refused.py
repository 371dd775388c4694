"""An opt-out scope that names no registration of the catalogue is refused, unquoted (0732).

A scope column that holds something else (a surname ``jansen`` has the shape of a
registration id) went into the event payload and ``optout list`` printed it; a
misspelt id (``dica-dsa``) was an objection that applied to no delivery at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from optout_support import MRNS, optouts_csv

from aanlevering.cli.main import main
from aanlevering.events import open_event_store
from aanlevering.settings import load_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    for name in ("AANLEVERING_EVENT_STORE", "AANLEVERING_OPTOUT_RULES", "AANLEVERING_CATALOGUE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def _recorded() -> str:
    with open_event_store(load_settings().event_store_url) as store:
        return "\n".join(f"{r.stream} {r.payload} {r.metadata}" for r in store.read_all())


@pytest.mark.parametrize("scope", ["jansen", "dica-dsaa|van-der-berg", "dica-dsa"])
def test_a_csv_scope_outside_the_catalogue_is_refused_naming_line_and_column(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], scope: str
) -> None:
    extract = optouts_csv(
        tmp_path / "optouts.csv", [f"{MRNS[0]};15-01-2026;all;", f"{MRNS[1]};15-01-2026;{scope};"]
    )

    assert main(["optout", "ingest", str(extract)]) == 2

    _, err = capsys.readouterr()
    assert "line 3, column scope: not a registration of the catalogue" in err
    assert "dica-dsaa" in err  # what it may hold instead
    shown = err.replace("dica-dsaa", "")
    assert all(part not in shown for part in scope.split("|") if part != "dica-dsaa")
    assert main(["optout", "list"]) == 0
    listed = capsys.readouterr().out
    assert "patients with an opt-out: 0" in listed  # nothing of the file was recorded
    assert "jansen" not in _recorded() + listed


def test_a_consent_code_outside_the_catalogue_is_refused(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    consent = {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "research"}]},
        "patient": {"reference": f"Patient/{MRNS[2]}"},
        "provision": {"type": "deny", "period": {"start": "2026-03-03"},
                      "code": [{"coding": [{"system": "https://aanlevering.example/fhir/CodeSystem/registration",
                                            "code": "jansen"}]}]},
    }  # fmt: skip
    path = tmp_path / "consents.ndjson"
    path.write_text(json.dumps(consent) + "\n", encoding="utf-8")

    code = main(["optout", "ingest", str(path)])

    err = capsys.readouterr().err
    assert code == 2, err
    assert "line 1, provision.code: not a registration of the catalogue" in err
    assert "jansen" not in err + _recorded()


def test_a_scope_of_the_catalogues_registrations_is_recorded(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extract = optouts_csv(tmp_path / "optouts.csv", [f"{MRNS[0]};15-01-2026;dica-dsaa|nkr-borst;"])
    assert main(["optout", "ingest", str(extract)]) == 0
    capsys.readouterr()
    assert main(["optout", "list", "--as-of", "2026-02-01"]) == 0
    assert "scope dica-dsaa|nkr-borst: 1" in capsys.readouterr().out
