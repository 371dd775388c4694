"""``aanlevering optout``: ingest, list and deliveries; nothing printed or stored names anyone."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from optout_support import MRNS, optouts_csv

from aanlevering.cli.main import main
from aanlevering.events import open_event_store
from aanlevering.optout.deliveries import record_delivery_contents
from aanlevering.optout.sources import mrn_hasher
from aanlevering.pseudonym.patient_ref import PatientRefHasher
from aanlevering.settings import load_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    for name in ("AANLEVERING_EVENT_STORE", "AANLEVERING_OPTOUT_RULES"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_no_mrn(text: str) -> None:
    for mrn in MRNS:
        assert mrn not in text and mrn.replace("-", "") not in text


def test_ingest_list_and_deliveries_never_show_an_mrn(
    home: Path, tmp_path: Path, capsys, caplog, monkeypatch
) -> None:
    caplog.set_level(logging.DEBUG)
    extract = optouts_csv(
        tmp_path / "optouts.csv",
        [
            f"{MRNS[0]};15-01-2027;all;",
            f"{MRNS[1]};01-02-2027;nkr-borst|dica-dsaa;",
            f"{MRNS[2]};01-02-2027;all;01-03-2027",
        ],
    )
    consent = tmp_path / "consent.ndjson"
    consent.write_text(
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
                "patient": {"reference": f"Patient/{MRNS[3]}"},
                "provision": {"type": "deny", "period": {"start": "2027-03-03"}},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    outputs: list[str] = []

    code, out, err = run(capsys, "optout", "ingest", str(extract))
    outputs += [out, err]
    assert code == 0
    assert "3 opt-out(s) read for 3 patient(s): 4 event(s) recorded, 0 already" in out
    code, out, err = run(capsys, "optout", "ingest", str(extract))
    outputs += [out, err]
    assert "0 event(s) recorded, 4 already in the log" in out
    code, out, err = run(capsys, "optout", "ingest", str(consent))
    outputs += [out, err]
    assert "1 opt-out(s) read for 1 patient(s): 1 event(s) recorded" in out

    code, out, err = run(capsys, "optout", "list", "--as-of", "2027-04-01")
    outputs += [out, err]
    assert code == 0
    assert "patients with an opt-out: 4" in out
    assert "opt-outs in force on 2027-04-01: 3" in out
    assert "withdrawn: 1" in out
    assert "  scope all: 2" in out and "  scope dica-dsaa|nkr-borst: 1" in out
    assert "regime applies" in out

    # the delivery step records what it delivered; then ask by MRN
    settings = load_settings()
    with open_event_store(settings.event_store_url) as store:
        ref = mrn_hasher(PatientRefHasher.from_settings(settings, store))
        record_delivery_contents(store, "nkr-borst", "2026", 1, [ref(MRNS[0]), ref(MRNS[1])])
        record_delivery_contents(store, "ldtr", "2027-01", 1, [ref(MRNS[0])])
    code, out, err = run(capsys, "optout", "deliveries", "--mrn", MRNS[0].lower())
    outputs += [out, err]
    assert code == 0
    assert out.splitlines() == [
        "registration\tperiod\tversion\treceipt",
        "ldtr\t2027-01\tv1\treceipted",
        "nkr-borst\t2026\tv1\treceipted",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO(MRNS[2] + "\n"))
    code, out, err = run(capsys, "optout", "deliveries", "--mrn", "-")
    outputs += [out, err]
    assert out.strip() == "no recorded delivery contained this patient"

    for text in [*outputs, caplog.text]:
        assert_no_mrn(text)
    with open_event_store(settings.event_store_url) as store:
        for record in store.read_all():
            assert_no_mrn(f"{record.stream} {record.payload} {record.metadata}")


def test_bad_extract_exits_2_without_echoing_values(home: Path, tmp_path: Path, capsys) -> None:
    extract = optouts_csv(tmp_path / "optouts.csv", [f"{MRNS[0]} x;15-01-2027;all;"])
    code, out, err = run(capsys, "optout", "ingest", str(extract))
    assert code == 2
    assert "line 2, column patientnummer: expected a patient number" in err
    assert_no_mrn(out + err)
    code, _, err = run(capsys, "optout", "ingest", str(tmp_path / "optouts.xlsx"))
    assert code == 2 and "unknown format" in err
    code, _, err = run(capsys, "optout", "deliveries", "--mrn", "Jan de Vries")
    assert code == 2 and "--mrn: expected a patient number" in err and "Jan" not in err
