"""FHIR NDJSON delivery: one file per resource type, valid R4B, consistent references."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from aanlevering.errors import OutputError
from aanlevering.fhir.validate import VALIDATE_ALL, validate_resource
from aanlevering.output import ndjson
from aanlevering.output.content import DeliveryInput
from aanlevering.output.ndjson import write_ndjson
from aanlevering.output.writer import write_delivery


def _lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def test_writes_one_file_per_resource_type_and_every_line_is_valid_r4b(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    content = delivery("ldtr", fhir_source=True)
    result = write_ndjson(tmp_path, content, VALIDATE_ALL)

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "Condition.ndjson",
        "Consent.ndjson",
        "Encounter.ndjson",
        "Observation.ndjson",
        "Patient.ndjson",
        "Procedure.ndjson",
        "QuestionnaireResponse.ndjson",
    ]
    for name in names:
        for number, resource in enumerate(_lines(tmp_path / name), start=1):
            assert f"{resource['resourceType']}.ndjson" == name
            validate_resource(resource, f"{name} line {number}")
        # the text encoders write exactly compact json.dumps output
        for line in (tmp_path / name).read_text(encoding="utf-8").splitlines():
            assert line == json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":"))
    assert result.format == "fhir-ndjson"
    assert result.patients == 4
    assert result.record_counts == {"trauma": 8}
    assert result.file("Patient.ndjson").records == 4
    assert result.file("QuestionnaireResponse.ndjson").records == 8
    assert result.file("Observation.ndjson").records == 2
    assert result.key_versions == {"NGG": (3,), "C": (3,), "MRN": (3,)}
    assert result.profiles == ("nl-2026.1",)


def test_result_checksums_and_sizes_match_the_files(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    result = write_ndjson(tmp_path, delivery("ldtr"), VALIDATE_ALL)
    for item in result.files:
        data = (tmp_path / item.name).read_bytes()
        assert item.sha256 == hashlib.sha256(data).hexdigest()
        assert item.bytes == len(data)
        assert item.records == data.count(b"\n")
        assert item.media_type == "application/fhir+ndjson"
    manifest = result.manifest_files()
    assert [m.name for m in manifest] == [f.name for f in result.files]


def test_every_reference_to_a_delivered_resource_resolves(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    write_ndjson(tmp_path, delivery("ldtr", fhir_source=True), VALIDATE_ALL)
    delivered = {
        f"{r['resourceType']}/{r['id']}" for path in tmp_path.glob("*.ndjson") for r in _lines(path)
    }
    records = _lines(tmp_path / "QuestionnaireResponse.ndjson")
    assert all(r["subject"]["reference"] in delivered for r in records)
    shared = ("Practitioner/", "Organization/")
    unresolved = []
    for path in tmp_path.glob("*.ndjson"):
        for resource in _lines(path):
            for reference in _references(resource):
                if reference.startswith("#") or reference.startswith(shared):
                    continue
                if reference not in delivered:
                    unresolved.append((resource["resourceType"], reference.split("/")[0]))
    # only obs-2's encounter, which is not part of the source, stays unresolved (keyed id)
    assert unresolved == [("Observation", "Encounter")]


def test_patients_carry_pseudonyms_and_the_generalised_forms_of_ldtr(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    write_ndjson(tmp_path, delivery("ldtr"), VALIDATE_ALL)
    patients = _lines(tmp_path / "Patient.ndjson")
    assert [p["id"] for p in patients] == sorted(p["id"] for p in patients)
    by_birth_year = {p["birthDate"]: p for p in patients}
    assert sorted(by_birth_year) == ["1944", "1950", "1962", "1988"]
    johanna = by_birth_year["1950"]
    assert johanna["address"] == [{"postalCode": "1012"}]
    assert [i["type"]["coding"][0]["code"] for i in johanna["identifier"]] == ["NGG", "C", "MRN"]
    hendrik = by_birth_year["1962"]  # no NGG could be computed for him
    assert [i["type"]["coding"][0]["code"] for i in hendrik["identifier"]] == ["C", "MRN"]
    records = _lines(tmp_path / "QuestionnaireResponse.ndjson")
    about_hendrik = [r for r in records if r["subject"]["reference"] == f"Patient/{hendrik['id']}"]
    assert len(about_hendrik) == 2


def test_a_rerun_of_the_same_delivery_is_byte_identical_and_another_delivery_is_not(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    first = write_delivery(tmp_path / "a", delivery("ldtr", fhir_source=True), "fhir-ndjson")
    again = write_delivery(tmp_path / "b", delivery("ldtr", fhir_source=True), "fhir-ndjson")
    other = write_delivery(
        tmp_path / "c", delivery("ldtr", fhir_source=True, salt_key="delivery-2"), "fhir-ndjson"
    )
    assert [f.sha256 for f in first.files] == [f.sha256 for f in again.files]
    first_ids = {r["id"] for r in _lines(tmp_path / "a" / "Patient.ndjson")}
    other_ids = {r["id"] for r in _lines(tmp_path / "c" / "Patient.ndjson")}
    assert first_ids.isdisjoint(other_ids)
    assert first.file("Patient.ndjson").sha256 != other.file("Patient.ndjson").sha256


def test_a_failure_leaves_no_file_behind(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    content = delivery("ldtr")
    trauma = content.datasets["trauma"]
    iss = trauma.clinical.column("iss").to_pylist()
    iss[-1] = 2**40
    broken = dataclasses.replace(
        trauma,
        clinical=trauma.clinical.set_column(
            trauma.clinical.column_names.index("iss"), "iss", pa.array(iss, pa.int64())
        ),
    )
    bad = dataclasses.replace(content, datasets={"trauma": broken})
    with pytest.raises(OutputError, match=r"row trauma_2026.csv:9, variable iss") as raised:
        write_ndjson(tmp_path, bad, VALIDATE_ALL)
    assert str(2**40) not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_a_record_whose_patient_has_no_pseudonyms_is_refused_by_row(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    content = delivery("ldtr")
    missing = {k: v for k, v in content.pseudonyms.items() if k != "MRN0067890"}
    with pytest.raises(
        OutputError, match=r"dataset trauma, row trauma_2026.csv:4: .*no pseudonyms"
    ) as raised:
        write_ndjson(tmp_path, dataclasses.replace(content, pseudonyms=missing))
    assert "MRN0067890" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_sampled_validation_is_the_default_and_still_validates(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    content = delivery("ldtr")
    result = write_ndjson(tmp_path, content)
    assert result.file("QuestionnaireResponse.ndjson").records == 8


def test_source_resources_written_in_batches_give_the_bytes_of_one_write_per_resource(
    tmp_path: Path, delivery: Callable[..., DeliveryInput], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Minimised source resources are joined into batches of lines; same files either way."""
    content = delivery("ldtr", fhir_source=True)
    write_ndjson(tmp_path / "batched", content)
    monkeypatch.setattr(ndjson, "_SOURCE_LINES", 1)
    write_ndjson(tmp_path / "one-by-one", content)
    batched = {p.name: p.read_bytes() for p in (tmp_path / "batched").iterdir()}
    one_by_one = {p.name: p.read_bytes() for p in (tmp_path / "one-by-one").iterdir()}
    assert batched == one_by_one
    assert batched["Observation.ndjson"].count(b"\n") == 2
