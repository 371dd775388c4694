"""A delivery carries the pseudonyms of the types its manifest lists, and at least one.

A holder without the registration's terms requires the pseudonym columns and
identifiers of the manifest's ``pseudonym_types``; a manifest listing none
required none, and a delivery that links no record to any patient was
receipted (decision 1032). A CSV's pseudonym columns were checked only where
they lead the header: the pseudonyms of a type the manifest does not list,
after them, were receipted (decision 1033). The holder is a real process;
no header cell is echoed.
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

_NO_TYPE = "pseudonym_types is empty: a pseudonymised delivery carries at least one pseudonym type"
_NGG = "pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status"


def _problems(holder: RegistryHolder, folder: Path, manifest: Manifest) -> list[str]:
    answer = _send(holder, folder, manifest)
    assert answer.status_code == 422, answer.text
    assert holder.ledger() == []
    problems: list[str] = json.loads(answer.text)["detail"]["problems"]
    return problems


def test_a_csv_delivery_of_no_pseudonym_type_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = csv_delivery(
        folder, stage(folder, provider=hospital_holder.hospital), b"leeftijd\n61\n", 1
    )
    manifest = replace(manifest, pseudonym_types=(), key_versions={})
    assert _problems(hospital_holder, folder, manifest) == [_NO_TYPE]


def test_a_fhir_delivery_of_no_pseudonym_type_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    """A Patient without any identifier: nothing says whose records these are."""
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    patient = {key: value for key, value in PATIENT.items() if key != "identifier"}
    texts = {
        "Patient.ndjson": ndjson_lines(patient),
        "QuestionnaireResponse.ndjson": (folder / "QuestionnaireResponse.ndjson").read_text(),
    }
    manifest = replace(restaged(folder, manifest, texts), pseudonym_types=(), key_versions={})
    assert _problems(hospital_holder, folder, manifest) == [_NO_TYPE]


def test_a_csv_with_the_pseudonyms_of_a_type_the_manifest_does_not_list_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    header = f"{_NGG};pseudoniem_B;pseudoniem_B_sleutelversie;pseudoniem_B_status;leeftijd"
    body = f"{header}\nNGG:v1:abc;1;definitief;B:v1:def;1;definitief;61\n".encode()
    manifest = csv_delivery(folder, stage(folder, provider=hospital_holder.hospital), body, 1)
    problems = _problems(hospital_holder, folder, manifest)
    assert problems == [
        "trauma.csv: column 4 is a pseudonym column of a type the manifest's pseudonym_types "
        "does not list (a delivery carries the pseudonyms of its listed types only)"
    ]
    assert "pseudoniem_B" not in json.dumps(problems)  # no header cell is echoed
