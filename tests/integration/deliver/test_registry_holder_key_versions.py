"""A delivery's pseudonyms are of the key versions its manifest says (a real holder process).

The manifest's ``key_versions`` says per type the newest key version its
pseudonyms carry; a pseudonym's value, a CSV's ``_sleutelversie`` and
``_status`` cells and an identifier's extensions say their own. None of it
was checked: a pseudonym of a version the manifest does not name, a
``key_versions`` of a type the delivery does not list and labels that
contradict the value were receipted (decision 1061). A key rotation's
transition may carry two versions of a type: the older ones are taken. No
pseudonym value is ever echoed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import PATIENT, RESPONSE, stage  # module level: another conftest may be found
from support.holder_requests import csv_delivery
from support.holder_sending import ndjson_texts, problems_with, refused, send_texts
from support.registry_holder import RegistryHolder

_NGG = "pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status;leeftijd"


def _patient(value: str, patient_id: str = "p-1", **identifier: Any) -> dict[str, Any]:
    first = PATIENT["identifier"][0]  # type: ignore[index]
    return {**PATIENT, "id": patient_id, "identifier": [{**first, "value": value, **identifier}]}


def _refused(
    holder: RegistryHolder, tmp_path: Path, *patients: dict[str, Any], **changes: Any
) -> list[str]:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=holder.hospital)
    texts = ndjson_texts(Patient=patients, QuestionnaireResponse=(RESPONSE,))
    problems = problems_with(holder, folder, manifest, texts, **changes)
    assert holder.ledger() == []
    return problems


def test_a_pseudonym_newer_than_the_manifests_key_version_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    problems = _refused(hospital_holder, tmp_path, _patient("NGG:v2:secretcode"))
    assert problems == [
        "Patient.ndjson line 1: carries an NGG identifier of key version 2, newer than the 1 "
        "the manifest's key_versions says for NGG (the newest its NGG pseudonyms carry)"
    ]
    assert "secretcode" not in str(problems)


def test_a_pseudonym_of_a_type_key_versions_does_not_name_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    problems = _refused(hospital_holder, tmp_path, _patient("NGG:v1:abc"), key_versions={})
    assert problems == [
        "Patient.ndjson line 1: carries an NGG identifier of key version 1, and the "
        "manifest's key_versions names no NGG version"
    ]


def test_key_versions_of_a_type_the_delivery_does_not_list_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    problems = _refused(
        hospital_holder, tmp_path, _patient("NGG:v1:abc"), key_versions={"NGG": 1, "BSN": 1}
    )
    assert problems == ["key_versions names 'BSN', a type pseudonym_types does not list"]


def test_a_manifest_version_no_pseudonym_carries_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    problems = _refused(hospital_holder, tmp_path, _patient("NGG:v1:abc"), key_versions={"NGG": 2})
    assert problems == [
        "key_versions says 2 for NGG, and the newest NGG pseudonym of the delivery is of key "
        "version 1"
    ]


def test_two_versions_of_a_transition_are_receipted(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    """A run during a rotation's transition: the manifest says the newest (decision 0041)."""
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    patients = (_patient("NGG:v2:abc"), _patient("NGG:v1:def", "p-2"))
    texts = ndjson_texts(Patient=patients, QuestionnaireResponse=(RESPONSE,))
    answer = send_texts(hospital_holder, folder, manifest, texts, key_versions={"NGG": 2})
    assert answer.status_code == 201, answer.text


def test_an_identifiers_key_version_extension_other_than_its_values_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    base = "https://aanlevering.example/fhir/StructureDefinition/pseudonym-"
    labels = [
        {"url": f"{base}key-version", "valueInteger": 2},
        {"url": f"{base}status", "valueCode": "definitive"},
    ]
    problems = _refused(hospital_holder, tmp_path, _patient("NGG:v1:abc", extension=labels))
    assert problems == [
        "Patient.ndjson line 1: carries an NGG identifier whose key-version extension is not "
        "its value's key version"
    ]


def test_an_identifiers_status_extension_other_than_its_values_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    status = {
        "url": "https://aanlevering.example/fhir/StructureDefinition/pseudonym-status",
        "valueCode": "temporary",
    }
    problems = _refused(hospital_holder, tmp_path, _patient("NGG:v1:abc", extension=[status]))
    assert problems == [
        "Patient.ndjson line 1: carries an NGG identifier whose status extension is not "
        "'definitive', the status of its value"
    ]


def test_csv_label_cells_other_than_their_pseudonyms_are_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    rows = "NGG:v1:abc;1;definitief;61\nNGG:v1:def;2;definitief;62\nNGG:v1:ghi;1;tijdelijk;63\n"
    body = f"{_NGG}\n{rows}".encode()
    manifest = csv_delivery(folder, stage(folder, provider=hospital_holder.hospital), body, 3)
    assert refused(hospital_holder, folder, manifest) == [
        "trauma.csv row 3 column 'pseudoniem_NGG': its pseudoniem_NGG_sleutelversie cell is "
        "not '1', its pseudonym's",
        "trauma.csv row 4 column 'pseudoniem_NGG': its pseudoniem_NGG_status cell is not "
        "'definitief', its pseudonym's",
    ]


def test_a_csv_pseudonym_newer_than_the_manifests_key_version_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    body = f"{_NGG}\nNGG:v3:abc;3;definitief;61\n".encode()
    manifest = csv_delivery(folder, stage(folder, provider=hospital_holder.hospital), body, 1)
    assert refused(hospital_holder, folder, manifest) == [
        "trauma.csv row 2 column 'pseudoniem_NGG': a pseudonym of key version 3, newer than "
        "the 1 the manifest's key_versions says for NGG (the newest its NGG pseudonyms carry)"
    ]
