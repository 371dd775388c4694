"""An opt-out file named after its patient leaves that name out of the event log (0680).

An EHR that sends each new objection as a file of its own names it after the
patient (``consent-ZH-0072318.ndjson``). The event log refers to patients only
by keyed patient reference; the file name next to the reference in every event
of the ingest would tie that reference to the patient number for good, in a log
that cannot be corrected.
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
    for name in ("AANLEVERING_EVENT_STORE", "AANLEVERING_OPTOUT_RULES"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def _consent(mrn: str) -> str:
    return (
        json.dumps(
            {
                "resourceType": "Consent",
                "status": "active",
                "scope": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                            "code": "research",
                        }
                    ]
                },
                "patient": {"reference": f"Patient/{mrn}"},
                "provision": {"type": "deny", "period": {"start": "2027-03-03"}},
            }
        )
        + "\n"
    )


def _logged(home: Path) -> str:
    """Everything the event log holds: streams, payloads and metadata, and the file's bytes."""
    settings = load_settings()
    with open_event_store(settings.event_store_url) as store:
        records = [f"{r.stream} {r.payload} {r.metadata}" for r in store.read_all()]
    raw = b"".join(path.read_bytes() for path in home.rglob("events.sqlite3*"))
    return "\n".join(records) + raw.decode("utf-8", errors="replace")


def test_a_consent_file_named_after_its_patient_is_not_named_in_the_event_log(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    consent = tmp_path / f"consent-{MRNS[3]}.ndjson"
    consent.write_text(_consent(MRNS[3]), encoding="utf-8")

    assert main(["optout", "ingest", str(consent)]) == 0

    out, _ = capsys.readouterr()
    assert "1 opt-out(s) read for 1 patient(s): 1 event(s) recorded" in out
    logged = _logged(home)
    assert "fhir-consent" in logged  # the ingest itself is recorded
    assert MRNS[3] not in logged


def test_a_csv_extract_named_after_a_patient_is_not_named_in_the_event_log(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extract = optouts_csv(tmp_path / f"bezwaar_{MRNS[0]}.csv", [f"{MRNS[0]};15-01-2027;all;"])

    assert main(["optout", "ingest", str(extract)]) == 0

    capsys.readouterr()
    logged = _logged(home)
    assert "ehr-csv" in logged
    assert MRNS[0] not in logged
