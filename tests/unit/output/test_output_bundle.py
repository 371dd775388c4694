"""FHIR Bundle delivery: collection Bundles of at most N entries that resolve on their own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from aanlevering.errors import OutputError
from aanlevering.fhir.validate import VALIDATE_ALL
from aanlevering.output.bundle import write_bundles
from aanlevering.output.content import DeliveryInput


def _bundles(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("Bundle-*.json"))]


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def test_bundles_are_valid_collections_with_urn_uuid_full_urls(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    result = write_bundles(tmp_path, delivery("nkr-borst", fhir_source=True), VALIDATE_ALL, 10)

    bundles = _bundles(tmp_path)
    # groups of 8, 4, 3 and 3 entries (in delivered-id order) need 2 or 3 Bundles of 10
    assert [f.name for f in result.files] == [
        f"Bundle-{n:06d}.json" for n in range(1, len(bundles) + 1)
    ]
    assert 2 <= len(bundles) <= 3
    for bundle, written in zip(bundles, result.files, strict=True):
        Bundle.model_validate(bundle)
        assert bundle["type"] == "collection"
        assert bundle["meta"]["security"][0]["code"] == "PSEUDED"
        assert 0 < len(bundle["entry"]) <= 10
        assert written.records == len(bundle["entry"])
        for entry in bundle["entry"]:
            assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    assert result.record_counts == {"tumor": 8}
    assert sum(f.records for f in result.files) == 4 + 8 + 6  # patients, records, minimised


def test_every_urn_reference_resolves_inside_its_own_bundle(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    write_bundles(tmp_path, delivery("nkr-borst", fhir_source=True), VALIDATE_ALL, 10)
    for bundle in _bundles(tmp_path):
        full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
        for entry in bundle["entry"]:
            for reference in _references(entry["resource"]):
                assert not reference.startswith("Patient/")
                if reference.startswith("urn:uuid:"):
                    assert reference in full_urls, reference


def test_a_patient_travels_with_its_records(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    write_bundles(tmp_path, delivery("nkr-borst"), VALIDATE_ALL, 7)
    for bundle in _bundles(tmp_path):
        patients = {
            f"urn:uuid:{e['resource']['id']}"
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Patient"
        }
        records = [
            e["resource"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "QuestionnaireResponse"
        ]  # fmt: skip
        assert records
        assert all(r["subject"]["reference"] in patients for r in records)
        assert len(bundle["entry"]) <= 7  # 3 entries per patient: two patients per Bundle


def test_a_patient_larger_than_a_bundle_is_split_with_the_patient_repeated(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    write_bundles(tmp_path, delivery("nkr-borst", fhir_source=True), VALIDATE_ALL, 4)
    bundles = _bundles(tmp_path)
    assert all(len(b["entry"]) <= 4 for b in bundles)
    for bundle in bundles:
        full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
        for entry in bundle["entry"]:
            subject = entry["resource"].get("subject") or entry["resource"].get("patient")
            if subject:
                assert subject["reference"] in full_urls
    appearances: dict[str, int] = {}
    for bundle in bundles:
        for entry in bundle["entry"]:
            if entry["resource"]["resourceType"] == "Patient":
                appearances[entry["resource"]["id"]] = (
                    appearances.get(entry["resource"]["id"], 0) + 1
                )
    # Johanna has 1 + 2 records + 5 minimised = 8 entries: 3 Bundles of (Patient + 3)
    assert sorted(appearances.values()) == [1, 1, 1, 3]


def test_too_small_a_bundle_is_refused(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    with pytest.raises(OutputError, match="at least 2 entries"):
        write_bundles(tmp_path, delivery("nkr-borst"), VALIDATE_ALL, 1)
