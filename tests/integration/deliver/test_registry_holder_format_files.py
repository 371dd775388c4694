"""A delivery holds the files of the format its manifest states, and no others (decision 1005).

The product writes one format per delivery (``aanlevering.output.writer``):
``csv`` as ``<dataset>.csv``, ``fhir-ndjson`` as ``<ResourceType>.ndjson``,
``fhir-bundle`` as ``Bundle-<nnnnnn>.json``; the manifest's ``format`` says
which. The reference holder read each file by its own name whatever the
format said, so a ``fhir-ndjson`` delivery carrying a Bundle, a Bundle
delivery carrying NDJSON, a CSV delivery carrying FHIR files (and the
reverse) were receipted: a real holder's intake, chosen by the format, would
not take the file. Such a file is refused by its name, saying what the format
holds; it is still read, so one refusal names what else is wrong
(decision 1003's rule). A format that is none of the three is refused too.
The holder is a real process.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.deliver.manifest import Manifest, describe_files
from conftest import PATIENT, RESPONSE, stage  # module level: a later import may find another
from support.holder_requests import csv_delivery, refusal_text, restaged
from support.holder_requests import send as _send
from support.registry_holder import RegistryHolder

#: A right CSV delivery of one trauma record, in the documented layout (decision 1006).
_CSV = (
    b"pseudoniem_NGG;pseudoniem_NGG_sleutelversie;pseudoniem_NGG_status;leeftijd\n"
    b"NGG:v1:abc;1;definitief;61\n"
)

#: What each format's refusal of a file of another kind says the format holds.
_HOLDS = {
    "csv": "<dataset>.csv",
    "fhir-ndjson": "<ResourceType>.ndjson or <ResourceType>.<nnn>.ndjson",
    "fhir-bundle": "Bundle-<nnnnnn>.json",
}


def _refused(name: str, format: str) -> str:
    return (
        f"{name}: a file the manifest's format {format!r} does not hold "
        f"(a {format} delivery's data files are {_HOLDS[format]})"
    )


def _bundle_text(patient: dict[str, object] = PATIENT, *, records: bool = True) -> str:
    """A collection Bundle of ``patient`` and (``records``) their trauma record."""
    record = {
        "fullUrl": "urn:uuid:q-1",
        "resource": {**RESPONSE, "subject": {"reference": "urn:uuid:p-1"}},
    }
    entries = [{"fullUrl": "urn:uuid:p-1", "resource": patient}, *([record] if records else [])]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


def _with(folder: Path, manifest: Manifest, texts: dict[str, str | bytes], format: str) -> Manifest:
    """``manifest`` holding ``texts`` (each file's records counted as the product counts
    them), stating ``format``."""
    restaged(folder, manifest, {})
    for name, text in texts.items():
        (folder / name).write_bytes(text.encode() if isinstance(text, str) else text)
    records = {
        name: _entries(folder / name)
        if name.endswith(".json")
        else len(_lines(folder / name)) - name.endswith(".csv")
        for name in texts
    }
    files = describe_files(folder, records, {name: "application/octet-stream" for name in texts})
    return replace(manifest, format=format, files=files)


def _entries(path: Path) -> int:
    return len(json.loads(path.read_bytes())["entry"])


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def _ndjson(*resources: dict[str, object]) -> str:
    return "".join(json.dumps(resource) + "\n" for resource in resources)


def _problems(holder: RegistryHolder, folder: Path, manifest: Manifest) -> list[str]:
    problems: list[str] = json.loads(refusal_text(_send(holder, folder, manifest)))["problems"]
    assert holder.ledger() == []
    return problems


def test_a_bundle_in_an_ndjson_delivery_is_refused_saying_what_the_format_holds(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    """A right collection Bundle under a ``fhir-ndjson`` manifest: its kind alone is wrong."""
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    manifest = _with(folder, manifest, {"Bundle-000001.json": _bundle_text()}, "fhir-ndjson")
    assert _problems(hospital_holder, folder, manifest) == [
        _refused("Bundle-000001.json", "fhir-ndjson")
    ]


def test_ndjson_in_a_bundle_delivery_is_refused_naming_each_file(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    texts: dict[str, str | bytes] = {
        "Patient.ndjson": _ndjson(PATIENT),
        "QuestionnaireResponse.ndjson": _ndjson(RESPONSE),
    }
    manifest = _with(folder, manifest, texts, "fhir-bundle")
    assert _problems(hospital_holder, folder, manifest) == [
        _refused("Patient.ndjson", "fhir-bundle"),
        _refused("QuestionnaireResponse.ndjson", "fhir-bundle"),
    ]


@pytest.mark.parametrize("format", ["fhir-ndjson", "fhir-bundle"])
def test_a_csv_file_in_a_fhir_delivery_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, format: str
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    manifest = replace(csv_delivery(folder, manifest, _CSV, 1), format=format)
    assert _problems(hospital_holder, folder, manifest) == [_refused("trauma.csv", format)]


@pytest.mark.parametrize(
    ("name", "text"),
    [("Patient.ndjson", _ndjson(PATIENT)), ("Bundle-000001.json", _bundle_text(records=False))],
)
def test_a_fhir_file_in_a_csv_delivery_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, name: str, text: str
) -> None:
    """Beside the dataset's own CSV: the FHIR file (a Patient, no record) is the one refused."""
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    manifest = _with(folder, manifest, {"trauma.csv": _CSV, name: text}, "csv")
    assert _problems(hospital_holder, folder, manifest) == [_refused(name, "csv")]


def test_a_file_of_another_kind_is_still_read_and_its_problems_named(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    """As in decision 1003: one refusal names the kind and what the file holds wrong."""
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    named = PATIENT | {"name": [{"family": "Jansen"}]}
    manifest = _with(folder, manifest, {"Bundle-000001.json": _bundle_text(named)}, "fhir-ndjson")
    problems = _problems(hospital_holder, folder, manifest)
    assert problems[0] == _refused("Bundle-000001.json", "fhir-ndjson")
    assert "Bundle-000001.json entry 0: Patient carries name or telecom" in problems[1]
    assert "Jansen" not in json.dumps(problems)


@pytest.mark.parametrize("format", ["ndjson", "fhir", "", "CSV"])
def test_a_format_that_is_none_the_product_writes_is_refused(
    hospital_holder: RegistryHolder, tmp_path: Path, format: str
) -> None:
    """The files are still read by their names: a right NDJSON delivery adds nothing else."""
    folder = tmp_path / "d"
    manifest = replace(stage(folder, provider=hospital_holder.hospital), format=format)
    assert _problems(hospital_holder, folder, manifest) == [
        "the manifest's format is none a delivery has (csv, fhir-ndjson or fhir-bundle); "
        "its files were read by their names"
    ]


def test_each_format_of_the_product_is_receipted(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    """The files the product writes for each format, stated as that format (versions 1-3)."""
    hospital = hospital_holder.hospital
    ndjson = stage(tmp_path / "ndjson", provider=hospital)
    bundle = _with(
        tmp_path / "bundle",
        stage(tmp_path / "bundle", version=2, provider=hospital),
        {"Bundle-000001.json": _bundle_text()},
        "fhir-bundle",
    )
    csv = csv_delivery(
        tmp_path / "csv", stage(tmp_path / "csv", version=3, provider=hospital), _CSV, 1
    )
    for folder, manifest in (("ndjson", ndjson), ("bundle", bundle), ("csv", csv)):
        answer = _send(hospital_holder, tmp_path / folder, manifest)
        assert answer.status_code == 201, (folder, answer.text)


def test_a_holder_with_the_terms_takes_only_the_registrations_own_format(
    knowing_holder: RegistryHolder, tmp_path: Path
) -> None:
    """ldtr is delivered as NDJSON: the same records as a Bundle are another format (1008).

    Files and manifest agree with each other (1005 passes); only the
    registration's terms say the format is not the one the holder takes in.
    """
    folder = tmp_path / "d"
    manifest = stage(folder, provider=knowing_holder.hospital)
    as_bundle = _with(folder, manifest, {"Bundle-000001.json": _bundle_text()}, "fhir-bundle")
    assert _problems(knowing_holder, folder, as_bundle) == [
        "format 'fhir-bundle' is not registration 'ldtr''s (its deliveries are 'fhir-ndjson')"
    ]
    texts: dict[str, str | bytes] = {
        "Patient.ndjson": _ndjson(PATIENT),
        "QuestionnaireResponse.ndjson": _ndjson(RESPONSE),
    }
    again = tmp_path / "again"
    as_ndjson = _with(again, stage(again, provider=knowing_holder.hospital), texts, "fhir-ndjson")
    answer = _send(knowing_holder, again, as_ndjson)
    assert answer.status_code == 201, answer.text
