"""A temporary pseudonym is taken only where the holder exchanges it (a real holder process).

The holder exchanges temporary pseudonyms (``T1:<type>:v<n>:…``) for
definitive ones in a web-mode delivery; in a local-mode one the TTP already
wrote definitive ones, and nothing exchanges a temporary one. It was stored
as it came and receipted: records no registry can link (decision 1037). So
it was by a holder configured without a TTP (no ``ttp_url``, as the shared
test holder is) in a web-mode delivery (decision 1060). The refusal names
place and kind, never the value.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.deliver.manifest import Manifest
from conftest import PATIENT, stage  # module level: a later import may find another conftest
from support.holder_requests import csv_delivery, ndjson_lines, restaged
from support.holder_sending import refused
from support.registry_holder import RegistryHolder

_TEMPORARY = "T1:NGG:v1:tmpabc"
_NEVER = (
    "a temporary pseudonym in a 'local'-mode delivery: only a web-mode delivery's temporary "
    "pseudonyms are exchanged for definitive ones"
)
_NO_TTP = (
    "a temporary pseudonym, and this registry holder has no TTP to exchange temporary "
    "pseudonyms for definitive ones (it stores none unexchanged): the holder's "
    "configuration, not the delivery, must change"
)
#: (the delivery's ttp_mode, why the holder refuses its temporary pseudonym)
_NOTHING_EXCHANGES = pytest.mark.parametrize(
    ("mode", "said"), [("local", _NEVER), ("web", _NO_TTP)], ids=["local-mode", "holder-no-ttp"]
)


def _problems(holder: RegistryHolder, folder: Path, manifest: Manifest) -> list[str]:
    problems = refused(holder, folder, manifest)
    assert _TEMPORARY not in json.dumps(problems)
    return problems


@_NOTHING_EXCHANGES
def test_a_temporary_identifier_nothing_exchanges_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, mode: str, said: str
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    identifier = {**PATIENT["identifier"][0], "value": _TEMPORARY}  # type: ignore[index]
    texts = {
        "Patient.ndjson": ndjson_lines({**PATIENT, "identifier": [identifier]}),
        "QuestionnaireResponse.ndjson": (folder / "QuestionnaireResponse.ndjson").read_text(),
    }
    manifest = replace(restaged(folder, manifest, texts), ttp_mode=mode)
    assert _problems(hospital_holder, folder, manifest) == [
        f"Patient.ndjson line 1: carries an NGG identifier that is {said}"
    ]


@_NOTHING_EXCHANGES
def test_a_temporary_csv_pseudonym_nothing_exchanges_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, mode: str, said: str
) -> None:
    folder = tmp_path / "d"
    header = "pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status;leeftijd"
    body = f"{header}\n{_TEMPORARY};1;tijdelijk;61\n".encode()
    manifest = csv_delivery(folder, stage(folder, provider=hospital_holder.hospital), body, 1)
    manifest = replace(manifest, ttp_mode=mode)
    assert _problems(hospital_holder, folder, manifest) == [
        f"trauma.csv row 2 column 'pseudoniem_NGG': {said}"
    ]
