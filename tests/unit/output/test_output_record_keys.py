"""Record keys leave as keyed hashes: stable per registration and provider, never the source id."""

from __future__ import annotations

import csv
import json
import pickle
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.fhir.ids import RecordKeys
from aanlevering.output.content import DeliveryInput
from aanlevering.output.writer import write_delivery

SECRET = b"record keys: hospital secret 32b"
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _with_keys(content: DeliveryInput, keys: RecordKeys) -> DeliveryInput:
    return replace(content, context=replace(content.context, record_keys=keys))


def _csv_column(path: Path, column: str) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row[column] for row in csv.DictReader(handle, delimiter=";")]


def _source_keys(content: DeliveryInput, dataset: str, variable: str) -> list[str]:
    values: list[str] = content.datasets[dataset].clinical.column(variable).to_pylist()
    return values


def test_csv_keys_and_relations_are_hashed_and_still_join(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    content = _with_keys(delivery("dica-dsaa"), RecordKeys(SECRET, "dica-dsaa", "ziekenhuis-a"))
    write_delivery(tmp_path, content, "csv")
    operaties = _csv_column(tmp_path / "operatie.csv", "operatie_id")
    referenced = _csv_column(tmp_path / "complicatie.csv", "operatie_id")
    complicaties = _csv_column(tmp_path / "complicatie.csv", "complicatie_id")
    assert all(HEX32.match(value) for value in operaties + referenced + complicaties)
    # equal source ids stay equal (the relation joins), different ones differ
    source_operaties = _source_keys(content, "operatie", "operatie_id")
    assert len(set(operaties)) == len(set(source_operaties))
    source_referenced = _source_keys(content, "complicatie", "operatie_id")
    assert {s: d for s, d in zip(source_referenced, referenced, strict=True)} == {
        s: d for s, d in zip(source_operaties, operaties, strict=True) if s in source_referenced
    }
    delivered = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    for source in source_operaties + _source_keys(content, "complicatie", "complicatie_id"):
        assert source.encode() not in delivered


def test_fhir_record_items_carry_the_hash(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    content = _with_keys(delivery("ldtr"), RecordKeys(SECRET, "ldtr", "ziekenhuis-a"))
    write_delivery(tmp_path, content, "fhir-ndjson")
    answers = []
    for file in tmp_path.glob("*.ndjson"):
        for line in file.read_text(encoding="utf-8").splitlines():
            resource = json.loads(line)
            for item in resource.get("item", ()):
                if item["linkId"] == "trauma_id":
                    answers.append(item["answer"][0]["valueString"])
    assert len(answers) == content.datasets["trauma"].num_rows
    assert all(HEX32.match(answer) for answer in answers)
    assert not set(answers) & set(_source_keys(content, "trauma", "trauma_id"))


def test_keys_are_stable_across_versions_and_apart_per_registration_and_provider(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    def keys_of(salt_key: str, registration: str, provider: str) -> list[str]:
        folder = tmp_path / f"{salt_key}-{registration}-{provider}"
        content = delivery("ldtr", salt_key=salt_key)
        write_delivery(
            folder, _with_keys(content, RecordKeys(SECRET, registration, provider)), "csv"
        )
        return _csv_column(folder / "trauma.csv", "trauma_id")

    version_1 = keys_of("ldtr/2026-01/v1", "ldtr", "ziekenhuis-a")
    assert keys_of("ldtr/2026-01/v2", "ldtr", "ziekenhuis-a") == version_1
    assert not set(keys_of("ldtr/2026-01/v1", "ldtr", "ziekenhuis-b")) & set(version_1)
    assert not set(keys_of("ldtr/2026-01/v1", "nkr-borst", "ziekenhuis-a")) & set(version_1)


def test_record_keys_hide_their_key() -> None:
    keys = RecordKeys(SECRET, "ldtr", "ziekenhuis-a")
    assert "record keys" not in repr(keys)
    with pytest.raises(TypeError, match="can not be pickled"):
        pickle.dumps(keys)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        RecordKeys(b"short", "ldtr", "ziekenhuis-a")
