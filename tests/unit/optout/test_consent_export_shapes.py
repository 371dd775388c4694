"""A Patient of the wrong JSON shape in a Consent export is an input error naming it (0684).

The Consent reader resolves ``Patient/<id>`` against the export's Patients
(decision 0350). A Patient whose identifier ``type`` is text instead of a
CodeableConcept made the index raise ``AttributeError``: exit 4, "a bug".
The extract names such a resource by ``file:line`` (decision 0210); so does this.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.cli.main import main

MRN = "ZH-0048213"
CONSENT = {
    "resourceType": "Consent",
    "status": "active",
    "scope": {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}
        ]
    },
    "patient": {"reference": "Patient/pat-1"},
    "provision": {"type": "deny", "period": {"start": "2027-03-03"}},
}


def test_a_patient_of_the_wrong_shape_is_named_by_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AANLEVERING_EVENT_STORE", raising=False)
    export = tmp_path / "export"
    export.mkdir()
    good = {"resourceType": "Patient", "id": "pat-0", "identifier": [{"value": "ZH-1"}]}
    bad = {"resourceType": "Patient", "id": "pat-1", "identifier": [{"type": "MR", "value": MRN}]}
    (export / "Patient.ndjson").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    (export / "Consent.ndjson").write_text(json.dumps(CONSENT) + "\n")

    code = main(["optout", "ingest", str(export)])

    err = capsys.readouterr().err
    assert code == 2, err
    assert "Patient.ndjson:2" in err and "wrong JSON shape" in err
    assert MRN not in err
