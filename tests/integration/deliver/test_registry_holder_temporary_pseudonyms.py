"""A temporary pseudonym is taken in a web-mode delivery only (a real holder process).

The holder exchanges temporary pseudonyms (``T1:<type>:v<n>:…``) for
definitive ones in a web-mode delivery; in a local-mode one the TTP already
wrote definitive ones, and nothing exchanges a temporary one. It was stored
as it came and receipted: records no registry can link (decision 1037). The
refusal names place and kind, never the value.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from aanlevering.deliver.manifest import Manifest
from conftest import PATIENT, stage  # module level: a later import may find another conftest
from support.holder_requests import csv_delivery, ndjson_lines, restaged
from support.holder_requests import send as _send
from support.registry_holder import RegistryHolder

_TEMPORARY = "T1:NGG:v1:tmpabc"
_NEVER = (
    "a temporary pseudonym in a 'local'-mode delivery: only a web-mode delivery's temporary "
    "pseudonyms are exchanged for definitive ones"
)


def _problems(holder: RegistryHolder, folder: Path, manifest: Manifest) -> list[str]:
    answer = _send(holder, folder, manifest)
    assert answer.status_code == 422, answer.text
    assert _TEMPORARY not in answer.text
    assert holder.ledger() == []
    problems: list[str] = json.loads(answer.text)["detail"]["problems"]
    return problems


def test_a_temporary_identifier_in_a_local_mode_delivery_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    identifier = {**PATIENT["identifier"][0], "value": _TEMPORARY}  # type: ignore[index]
    texts = {
        "Patient.ndjson": ndjson_lines({**PATIENT, "identifier": [identifier]}),
        "QuestionnaireResponse.ndjson": (folder / "QuestionnaireResponse.ndjson").read_text(),
    }
    manifest = replace(restaged(folder, manifest, texts), ttp_mode="local")
    assert _problems(hospital_holder, folder, manifest) == [
        f"Patient.ndjson line 1: carries an NGG identifier that is {_NEVER}"
    ]


def test_a_temporary_csv_pseudonym_in_a_local_mode_delivery_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    header = "pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status;leeftijd"
    body = f"{header}\n{_TEMPORARY};1;tijdelijk;61\n".encode()
    manifest = csv_delivery(folder, stage(folder, provider=hospital_holder.hospital), body, 1)
    manifest = replace(manifest, ttp_mode="local")
    assert _problems(hospital_holder, folder, manifest) == [
        f"trauma.csv row 2 column 'pseudoniem_NGG': {_NEVER}"
    ]
