"""The reference registry holder refuses an upload whose JSON repeats a key (decision 0850).

The hospital side refuses a key written twice in one JSON object (decision 0801): a
reader that keeps the last member sees another document than one that keeps the first.
The holder read uploads with ``json.loads`` (the last wins): a Patient line carrying a
name, followed by ``"name": []``, passed its "no name on a Patient" check and was
receipted, with the name stored. A real holder refuses it; these tests send such
uploads over loopback to the real server process and want a 422 naming file, line and
key, and no value of the line.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from aanlevering.deliver.manifest import describe_files
from conftest import PATIENT, stage  # module level: a later import may find another conftest
from support.holder_requests import auth_headers
from support.holder_requests import commit as _commit
from support.holder_requests import put as _put
from support.holder_requests import restaged as _restaged
from support.holder_requests import send as _send
from support.registry_holder import RegistryHolder

#: A name the holder must never receipt, and must not echo in its answer.
FAMILY = "Zwanenburg"


def _said(answer: requests.Response) -> str:
    """What the holder's refusal says: its problems, one a line, unescaped."""
    detail = answer.json()["detail"]
    return "\n".join(detail["problems"]) if isinstance(detail, dict) else str(detail)


def _line(patient: dict[str, object], repeated: str) -> str:
    """``patient`` as one NDJSON line with ``repeated`` appended (a member written again)."""
    return json.dumps(patient)[:-1] + ", " + repeated + "}\n"


@pytest.mark.parametrize(
    ("second_line", "key"),
    [
        # the last "name" hides the first one from a last-wins reader
        (_line({**PATIENT, "id": "p-2", "name": [{"family": FAMILY}]}, '"name": []'), "name"),
        # a repeated id: which resource the line is depends on the reader
        (_line({**PATIENT, "id": "p-2", "name": [{"family": FAMILY}]}, '"id": "p-3"'), "id"),
    ],
)
def test_an_ndjson_line_with_a_repeated_key_is_refused_naming_file_line_and_key(
    registry_holder: RegistryHolder, tmp_path: Path, second_line: str, key: str
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder)
    patients = json.dumps(PATIENT) + "\n" + second_line
    response = (folder / "QuestionnaireResponse.ndjson").read_text()
    manifest = _restaged(
        folder,
        manifest,
        {"Patient.ndjson": patients, "QuestionnaireResponse.ndjson": response},
    )
    answer = _send(registry_holder, folder, manifest)
    assert answer.status_code == 422, answer.text
    assert f'Patient.ndjson line 2: the key "{key}" appears twice in one object' in _said(answer)
    assert FAMILY not in answer.text
    assert registry_holder.ledger() == []
    assert not list((registry_holder.home / "storage").rglob("accepted/Patient.ndjson"))


def test_a_repeated_key_that_is_no_element_name_is_not_shown(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder)
    patient = {**PATIENT, "extension": [{"url": "x", FAMILY: 1}]}
    line = json.dumps(patient).replace(f'"{FAMILY}": 1', f'"{FAMILY}": 1, "{FAMILY}": 2')
    response = (folder / "QuestionnaireResponse.ndjson").read_text()
    manifest = _restaged(
        folder, manifest, {"Patient.ndjson": line + "\n", "QuestionnaireResponse.ndjson": response}
    )
    answer = _send(registry_holder, folder, manifest)
    assert answer.status_code == 422, answer.text
    assert "Patient.ndjson line 1: the key (not shown" in _said(answer)
    assert FAMILY not in answer.text
    assert registry_holder.ledger() == []


def test_a_bundle_with_a_repeated_key_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder)
    response = json.loads((folder / "QuestionnaireResponse.ndjson").read_text())
    entries = [
        {"fullUrl": "urn:uuid:p-1", "resource": PATIENT},
        {"fullUrl": "urn:uuid:q-1", "resource": response},
    ]
    named = {**PATIENT, "name": [{"family": FAMILY}]}
    bundle = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    # a second "entry" hides a Patient with a name from a last-wins reader
    hidden = json.dumps([{"fullUrl": "urn:uuid:p-1", "resource": named}])
    text = bundle.replace('"entry": ', f'"entry": {hidden}, "entry": ', 1)
    for item in manifest.files:
        (folder / item.name).unlink()
    (folder / "delivery.json").write_text(text)
    files = describe_files(folder, {"delivery.json": 2}, {"delivery.json": "application/fhir+json"})
    manifest = replace(manifest, files=files, format="fhir-bundle")
    answer = _send(registry_holder, folder, manifest)
    assert answer.status_code == 422, answer.text
    said = _said(answer)
    assert 'delivery.json: the key "entry" appears twice in one object at line 1' in said
    assert FAMILY not in answer.text
    assert registry_holder.ledger() == []


def test_a_manifest_with_a_repeated_key_is_refused_naming_it(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder)
    for item in manifest.transferred():
        assert _put(registry_holder, manifest, item.name, (folder / item.name).read_bytes()).ok
    text = manifest.to_json()
    repeated = text.replace('"version": 1', '"version": 1,\n  "version": 2', 1)
    assert repeated != text
    url = f"{registry_holder.endpoint(manifest.registration)}/{manifest.idempotency_key}/commit"
    headers = auth_headers(registry_holder, **{"Content-Type": "application/json"})
    answer = requests.post(url, data=repeated.encode(), headers=headers, timeout=60)
    assert answer.status_code == 422, answer.text
    assert 'the key "version" appears twice in one object' in _said(answer)
    assert registry_holder.ledger() == []
    assert _commit(registry_holder, manifest).status_code == 201  # the same, once: taken
