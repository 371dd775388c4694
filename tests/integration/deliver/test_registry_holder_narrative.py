"""A delivered resource carries no narrative (a real holder process).

A resource's narrative (``text.div``) is free text the source wrote: it may
name the patient or anyone else. The holder's BSN scan finds no name, the
R4B models take it, so it was receipted (decision 1063). The refusal names
file and line, nothing of the text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import PATIENT, RESPONSE, stage  # module level: another conftest may be found
from support.holder_sending import ndjson_texts, problems_with
from support.registry_holder import RegistryHolder

_SECRET = "Mevrouw de Vries-Bakker"
_NARRATIVE = {
    "status": "generated",
    "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{_SECRET}</div>',
}
_SAID = (
    "a narrative (text) in a delivered resource: a delivery carries none (free text no "
    "pseudonymisation touched; the product drops it)"
)
_MEDICATION = {"resourceType": "Medication", "id": "m-1", "text": _NARRATIVE}


@pytest.mark.parametrize(
    ("patient", "response", "where"),
    [
        ({**PATIENT, "text": _NARRATIVE}, RESPONSE, "Patient.ndjson line 1"),
        (PATIENT, {**RESPONSE, "text": _NARRATIVE}, "QuestionnaireResponse.ndjson line 1"),
        (PATIENT, {**RESPONSE, "contained": [_MEDICATION]}, "QuestionnaireResponse.ndjson line 1"),
    ],
    ids=["patient", "response", "contained"],
)
def test_a_narrative_is_refused(
    hospital_holder: RegistryHolder,
    tmp_path: Path,
    patient: dict[str, Any],
    response: dict[str, Any],
    where: str,
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    texts = ndjson_texts(Patient=(patient,), QuestionnaireResponse=(response,))
    problems = problems_with(hospital_holder, folder, manifest, texts)
    assert problems == [f"{where}: {_SAID}"]
    assert "Vries" not in json.dumps(problems)
    assert hospital_holder.ledger() == []
    assert "Vries" not in (hospital_holder.home / "registry-holder.log").read_text()
