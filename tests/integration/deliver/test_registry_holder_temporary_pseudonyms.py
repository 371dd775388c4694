"""A holder without a TTP refuses temporary pseudonyms (a real holder process).

The holder exchanges a web-mode delivery's temporary pseudonyms
(``T1:<type>:v<n>:…``) for definitive ones at its TTP. A holder configured
without one (no ``ttp_url``, as the shared test holder is) stored them as
they came and receipted them: records no registry can link (decision
1060). A local-mode delivery comes from the TTP's forwarder only (decision
1064); its temporary pseudonyms (decision 1037) are tested in
test_registry_holder_local_mode.py. The refusal names place and kind, never
the value.
"""

from __future__ import annotations

import json
from pathlib import Path

from aanlevering.deliver.manifest import Manifest
from conftest import PATIENT, stage  # module level: a later import may find another conftest
from support.holder_requests import csv_delivery, ndjson_lines, restaged
from support.holder_sending import refused
from support.registry_holder import RegistryHolder

_TEMPORARY = "T1:NGG:v1:tmpabc"
_NO_TTP = (
    "a temporary pseudonym, and this registry holder has no TTP to exchange temporary "
    "pseudonyms for definitive ones (it stores none unexchanged): the holder's "
    "configuration, not the delivery, must change"
)


def _problems(holder: RegistryHolder, folder: Path, manifest: Manifest) -> list[str]:
    problems = refused(holder, folder, manifest)
    assert _TEMPORARY not in json.dumps(problems)
    return problems


def test_a_temporary_identifier_at_a_holder_without_a_ttp_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    identifier = {**PATIENT["identifier"][0], "value": _TEMPORARY}  # type: ignore[index]
    texts = {
        "Patient.ndjson": ndjson_lines({**PATIENT, "identifier": [identifier]}),
        "QuestionnaireResponse.ndjson": (folder / "QuestionnaireResponse.ndjson").read_text(),
    }
    assert manifest.ttp_mode == "web"
    assert _problems(hospital_holder, folder, restaged(folder, manifest, texts)) == [
        f"Patient.ndjson line 1: carries an NGG identifier that is {_NO_TTP}"
    ]


def test_a_temporary_csv_pseudonym_at_a_holder_without_a_ttp_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    header = "pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status;leeftijd"
    body = f"{header}\n{_TEMPORARY};1;tijdelijk;61\n".encode()
    manifest = csv_delivery(folder, stage(folder, provider=hospital_holder.hospital), body, 1)
    assert _problems(hospital_holder, folder, manifest) == [
        f"trauma.csv row 2 column 'pseudoniem_NGG': {_NO_TTP}"
    ]
