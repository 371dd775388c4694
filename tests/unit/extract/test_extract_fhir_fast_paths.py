"""The streaming reader's per-resource fast paths equal the straightforward code (decision 0312).

Each fast path is compared with the version it replaces on the demo exports of
the three example registrations and on random awkward resources: nested
extension lists, choice elements, nulls, non-objects where objects belong,
JSON text inside values.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import Catalogue
from aanlevering.demo import DemoOptions, DemoResult, generate_demo_data
from aanlevering.extract import fhir_columns
from aanlevering.extract.fhir import _Plan
from aanlevering.extract.fhir_columns import (
    Chain,
    choice_key,
    compile_local,
    encode,
    local_items,
    split,
)
from aanlevering.extract.fhir_resources import ReadElements, cut, cut_as_written
from aanlevering.extract.fhir_store import SHAPE_ERRORS, InputResources
from aanlevering.extract.fhir_stream import VariableSpec, _Dispatch, _Target
from aanlevering.extract.fhirpath import compile_path

REGISTRATIONS = ("dica-dsaa", "ldtr", "nkr-borst")
NAMES = (
    "value",
    "valueQuantity",
    "valueString",
    "valueCode",
    "code",
    "coding",
    "system",
    "extension",
    "modifierExtension",
    "url",
    "reference",
    "subject",
    "encounter",
    "period",
    "start",
    "end",
    "gender",
    "deceasedDateTime",
    "deceased",
    "onsetDateTime",
    "severity",
    "text",
    "partOf",
    "status",
    "category",
    "id",
)
URLS = ("https://x/read", "https://x/unread", "https://x/also-read")
PATHS = (
    "valueQuantity.value",
    "value",
    "code.coding.where(system='https://x/s').code",
    "extension('https://x/read').valueCode",
    "extension('https://x/read').extension('https://x/also-read').value",
    "modifierExtension",
    "period.start",
    "deceased",
    "severity.coding",
    "subject.resolve().gender",
    "partOf.resolve().code",
    "category.first().coding",
    "text",
)


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        return rng.choice(
            [
                None,
                0,
                1.5,
                True,
                "",
                "Patient/p1",
                "x",
                '"extension":[',
                "https://x/read",
                '{"reference":"a b"}',
            ]
        )
    if roll < 0.6:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return _object(rng, depth + 1)


def _object(rng: random.Random, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(rng.randint(0, 5)):
        name = rng.choice(NAMES)
        if name in ("extension", "modifierExtension") and rng.random() < 0.8:
            out[name] = [
                {"url": rng.choice(URLS), **_object(rng, depth + 1)}
                if rng.random() < 0.85
                else _value(rng, depth + 1)
                for _ in range(rng.randint(0, 3))
            ]
        elif name == "url":
            out[name] = rng.choice(URLS)
        else:
            out[name] = _value(rng, depth)
    return out


def _resource(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["Observation", "Procedure", "Condition", "Encounter", "Patient"])
    resource: dict[str, Any] = {"resourceType": kind, "id": f"r{rng.randint(0, 99)}"}
    resource.update(_object(rng, 0))
    resource["resourceType"] = kind
    return resource


def _random_read(rng: random.Random) -> ReadElements:
    read = ReadElements()
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(["Observation", "Procedure", "Condition", "Encounter"])
        read.add_path(kind, compile_path(rng.choice(PATHS)), filter_element=rng.random() < 0.2)
    if rng.random() < 0.3:
        read.add_name("Observation", "partOf")
    return read


def _as_written(reference: str) -> str | None:
    return None


def _straight_choice(item: dict[str, Any], name: str) -> str | None:
    size = len(name)
    for key in item:
        if len(key) > size and key.startswith(name) and key[size].isupper():
            return key
    return None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> DemoResult:
    out = tmp_path_factory.mktemp("fast") / "demo"
    return generate_demo_data(catalogue, DemoOptions(out_dir=out, patients=120, seed=7))


def _plan(catalogue: Catalogue, registration_id: str) -> _Plan:
    config = catalogue.get(registration_id)
    both = replace(config.delivery, format="fhir-ndjson", fhir_content="both")
    return _Plan.of(replace(config, delivery=both), None)


def _demo_resources(demo: DemoResult, registration_id: str) -> list[dict[str, Any]]:
    found = InputResources(Path(demo.out_dir / "fhir-bulk" / registration_id))
    return [dict(resource) for resource, _, _ in found]


@pytest.mark.parametrize("registration_id", REGISTRATIONS)
def test_cut_as_written_is_the_general_cut_on_the_demo_exports(
    demo: DemoResult, catalogue: Catalogue, registration_id: str
) -> None:
    read = _plan(catalogue, registration_id).read
    resources = _demo_resources(demo, registration_id)
    assert len(resources) > 300
    for resource in resources:
        assert cut_as_written(resource, read) == encode(cut(resource, read, _as_written))


def test_cut_as_written_is_the_general_cut_on_random_awkward_resources() -> None:
    rng = random.Random(312)
    nested = 0
    for _ in range(300):
        read = _random_read(rng)
        for _ in range(40):
            resource = _resource(rng)
            expected = encode(cut(resource, read, _as_written))
            assert cut_as_written(resource, read) == expected, json.dumps(resource)
            nested += expected.count('"extension":[') > 1
    assert nested > 20  # the fallback (an extension list below the top level) was exercised


def test_cut_as_written_plans_follow_paths_added_later() -> None:
    read = ReadElements()
    read.add_path("Observation", compile_path("valueQuantity.value"))
    resource = {"resourceType": "Observation", "id": "o", "valueQuantity": {"value": 1}, "note": 2}
    assert cut_as_written(resource, read) == encode(cut(resource, read, _as_written))
    read.add_name("Observation", "note")
    assert '"note":2' in cut_as_written(resource, read)


def test_choice_keys_are_the_first_typed_key_of_each_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Remembered per object shape; a full memo starts again; long keys are not remembered."""
    monkeypatch.setattr(fhir_columns, "_MAX_CHOICES", 16)
    monkeypatch.setattr(fhir_columns, "_CHOICES", {})
    rng = random.Random(18)
    long_key = "value" + "X" * 100
    for _ in range(5_000):
        item = _object(rng, 2)
        if rng.random() < 0.1:
            item[long_key] = 1
        for name in ("value", "deceased", "onset", "code", "extension", "gender"):
            if name not in item:
                assert choice_key(item, name) == _straight_choice(item, name)
    assert len(fhir_columns._CHOICES) <= 16
    assert not any(long_key in keys for _, keys in fhir_columns._CHOICES)


def test_compiled_paths_select_what_the_general_evaluator_selects() -> None:
    rng = random.Random(5)
    local = [p for p in PATHS if "resolve" not in p]
    for _ in range(3_000):
        resource = _resource(rng)
        for text in local:
            path = compile_path(text)
            try:
                expected = local_items(path, resource)
            except SHAPE_ERRORS as error:
                with pytest.raises(type(error)):
                    compile_local(path)(resource)
                continue
            assert compile_local(path)(resource) == expected, (text, resource)


@pytest.mark.parametrize("registration_id", REGISTRATIONS)
def test_targets_left_out_of_a_resource_select_nothing_there(
    demo: DemoResult, catalogue: Catalogue, registration_id: str
) -> None:
    """A target the dispatch does not evaluate on a resource would have kept no row of it."""
    plan = _plan(catalogue, registration_id)
    specs = [plan.builders[d.name].spec(raw_text=False) for d in plan.config.dictionary.datasets]
    dispatch = _Dispatch(specs, plan.read, None)
    rng = random.Random(registration_id)
    resources = _demo_resources(demo, registration_id) + [_resource(rng) for _ in range(3_000)]
    skipped = 0
    for resource in resources:
        kind = str(resource["resourceType"])
        applicable = dispatch.applicable(resource, kind)
        for target in dispatch.evaluated:
            if target in applicable:
                continue
            skipped += 1
            _selects_nothing(target, resource, kind)
    assert skipped > 1_000 or not dispatch.evaluated


@pytest.mark.parametrize(
    "after",
    ["value", "deceased", "valueQuantity.value", "extension('https://x/read').value", "code"],
)
def test_random_targets_left_out_of_a_resource_select_nothing_there(after: str) -> None:
    path = compile_path(f"subject.resolve().{after}")
    chain = split(path, "Observation")
    assert isinstance(chain, Chain)
    variable = VariableSpec("v", "string", path, None, "subject", None, None)
    target = _Target(variable, chain)
    rng = random.Random(after)
    skipped = evaluated = 0
    for _ in range(5_000):
        resource = _resource(rng)
        if rng.random() < 0.3:
            resource[rng.choice(["valueString", "deceasedBoolean", "valueX"])] = "v"
        kind = str(resource["resourceType"])
        if target.may_select(resource, kind):
            evaluated += 1
        else:
            skipped += 1
            _selects_nothing(target, resource, kind)
    assert skipped > 500 and evaluated > 300


def _selects_nothing(target: _Target, resource: dict[str, Any], kind: str) -> None:
    before = target.rows.rows
    target.read(resource, 0, kind)
    assert target.rows.rows == before, (target.variable.name, resource)
