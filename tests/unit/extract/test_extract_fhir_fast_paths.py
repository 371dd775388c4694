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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from tests.support.mapping_proxies import proxied

from aanlevering.catalogue import Catalogue
from aanlevering.demo import DemoOptions, DemoResult, generate_demo_data
from aanlevering.errors import ExtractError
from aanlevering.extract import fhir_columns, fhir_store
from aanlevering.extract.fhir import _Plan
from aanlevering.extract.fhir_columns import (
    Chain,
    KeyBuilder,
    Keys,
    Unsupported,
    _index,
    choice_key,
    compile_local,
    encode,
    first_at,
    has_odd_references,
    local_items,
    sort_references,
    split,
)
from aanlevering.extract.fhir_identity import patient_identity
from aanlevering.extract.fhir_resources import ReadElements, cut, cut_as_written
from aanlevering.extract.fhir_store import SHAPE_ERRORS, InputResources
from aanlevering.extract.fhir_stream import (
    DatasetSpec,
    VariableSpec,
    _Dispatch,
    _Target,
    entered_in_error,
)
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


def _dataset_specs(plan: _Plan) -> list[DatasetSpec]:
    return [plan.builders[d.name].spec(raw_text=False) for d in plan.config.dictionary.datasets]


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
    local += ["where(status='x').code", "first().value", "deceased.first()", "where(id='r1')"]
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
    specs = _dataset_specs(plan)
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
    target.read(resource, 0, "test.ndjson:1", kind)
    assert target.rows.rows == before, (target.variable.name, resource)


def _straight_rows_of(keys: Keys, references: list[str | None]) -> np.ndarray:
    """The lookup as it was: every reference's key found among all keys (decision 0313)."""
    refs = pa.array(references, pa.string())
    out = np.full(len(refs), -1, dtype=np.int64)
    if keys.full_urls.num_rows:
        found = _index(refs, keys.full_urls.column("full_url"))
        rows = keys.full_urls.column("row").to_numpy()
        hit = found >= 0
        out[hit] = keys.first_of[rows[found[hit]]]
    urn, typed = sort_references(
        (position, text)
        for position, text in enumerate(references)
        if text is not None and out[position] < 0
    )
    if typed:
        found = _index(pa.array([key for _, key in typed], pa.string()), keys.key)
        positions = np.array([position for position, _ in typed], dtype=np.int64)
        hit = found >= 0
        out[positions[hit]] = found[hit]
    if urn:
        keys._urn(urn, out)
    return out


TYPES = ("Patient", "Encounter", "Observation", "Pa/tient", "X", "Patient\n", "Ärzt")
IDS = ("a", "b", "c.1", "d-2", "é", "a/b", "", "x\n", None, 7)


def _random_keys(rng: random.Random) -> Keys:
    builder = KeyBuilder()
    for number in range(rng.randint(0, 60)):
        resource: dict[str, Any] = {"resourceType": rng.choice(TYPES)}
        if rng.random() < 0.9:
            resource["id"] = rng.choice(IDS)
        full_url = rng.choice([None, None, "urn:uuid:a", "Patient/b", "https://h/Patient/c"])
        builder.add(resource, f"f:{number}", full_url)
    return builder.done()


def _random_reference(rng: random.Random) -> str | None:
    kind = rng.choice((*TYPES, "Condition"))
    bare = rng.choice([i for i in IDS if isinstance(i, str)])
    return rng.choice(
        [
            None,
            f"{kind}/{bare}",
            f"{kind}/{bare}",
            f"https://h/fhir/{kind}/{bare}",
            f"{kind}/{bare}/_history/2",
            f"{kind}/{bare}/",
            f"urn:uuid:{bare}",
            f"urn:oid:{bare}",
            bare,
            f" {kind}/{bare}",
            "Patient/b",
        ]
    )


def test_references_are_found_as_among_all_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lookups per type give what one lookup among all keys gave, errors included."""
    rng = random.Random(313)
    hits = 0
    for trial in range(400):
        if trial % 50 == 0:  # more types than are looked up one at a time
            monkeypatch.setattr(fhir_columns, "_MAX_TYPES_LOOKED_UP", rng.choice([0, 1, 64]))
        keys = _random_keys(rng)
        references = [_random_reference(rng) for _ in range(rng.randint(0, 80))]
        if rng.random() < 0.05:
            references.append("Patient?identifier=x|1")
        try:
            expected = _straight_rows_of(keys, references)
        except Unsupported:
            with pytest.raises(Unsupported):
                keys.rows_of(pa.array(references, pa.string()))
            continue
        found = keys.rows_of(pa.chunked_array([pa.array(references, pa.string())]))
        assert found.tolist() == expected.tolist(), (references, keys.key.to_pylist())
        hits += int((found >= 0).sum())
    assert hits > 1_000


def _straight_odd_references(texts: pa.Array) -> bool:
    """The check as it was: fewer plain references than references (decision 0314)."""
    plain = r'"reference":"[A-Z][A-Za-z]+/[A-Za-z0-9.\-]+"'
    every = pc.sum(pc.count_substring(texts, '"reference":"')).as_py() or 0
    return bool(every != (pc.sum(pc.count_substring_regex(texts, plain)).as_py() or 0))


def test_odd_references_are_found_as_by_counting_the_plain_ones() -> None:
    """On compact JSON texts with random references: the one-pass check agrees."""
    rng = random.Random(314)
    pieces = ["Patient", "P", "Pa", "/", "a", "Z9", ".", "-", "_", '"', "\\", "é", " ", "?", ""]
    odd = plain = 0
    for _ in range(3_000):
        texts = []
        for _ in range(rng.randint(0, 4)):
            resource = _resource(rng)
            for _ in range(rng.randint(0, 3)):
                reference = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
                if rng.random() < 0.5:
                    reference = rng.choice(["Patient/", "Encounter/", "X/"]) + reference
                element = rng.choice(["subject", "encounter", "partOf", "extension"])
                resource[element] = {"reference": reference, "display": reference}
            texts.append(encode(resource) if rng.random() < 0.9 else "")
        array = pa.array(texts, pa.string())
        expected = _straight_odd_references(array)
        assert has_odd_references(array) == expected, texts
        assert has_odd_references(pa.chunked_array([array], pa.string())) == expected
        odd += expected
        plain += not expected
    assert odd > 300 and plain > 300


LINES = (
    b"",
    b"   ",
    b"\t\r",
    b'{"resourceType":"Patient","id":"p1"}',
    b' {"resourceType":"Observation","id":"o1","valueQuantity":{"value":1.5}} ',
    b'{"resourceType":"Patient\\n","id":"p2"}',
    b'{"resourceType":"patient","id":"p3"}',
    b'{"resourceType":5}',
    b'{"id":"no-type"}',
    b"[1,2,3]",
    b'"text"',
    b"{not json",
    b'{"resourceType":"Patient","value":NaN}',
    b'{"resourceType":"Patient","value":1e999}',
    b'{"resourceType":"Patient","big":' + b"9" * 5000 + b"}",
    b'{"resourceType":"Patient","name":"\\ud800"}',
    b'{"resourceType":"Patient","name":"\xff"}',
    b'{"resourceType":"Patient","deep":' + b"[" * 120 + b"]" * 120 + b"}",
    b'{"resourceType":"Patient","flat":"' + b"[" * 150 + b'"}',
    b"\xef\xbb\xbf" + b'{"resourceType":"Patient","id":"bom"}',
    b'{"resourceType":"Encounter","id":"e1","period":{"start":"2026"}}',
)


@pytest.mark.parametrize("name", ["Observation.ndjson", "log.ndjson"])
def test_ndjson_lines_read_as_the_general_path_reads_them(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same resources, locations, left-out lines and errors (decision 0315)."""
    rng = random.Random(name)
    outcomes = set()
    for trial in range(300):
        path = tmp_path / f"{trial}" / name
        path.parent.mkdir()
        chosen = [rng.choice(LINES) for _ in range(rng.randint(1, 6))]
        path.write_bytes(b"\n".join(chosen) + rng.choice([b"", b"\n"]))
        results = []
        for fast in (True, False):
            if not fast:
                monkeypatch.setattr(fhir_store, "_plain_resource", lambda raw: None)
            others: list[int] = []
            try:
                read = list(fhir_store._ndjson_resources(path, others))
                results.append(("read", repr(read), others))
            except ExtractError as error:
                results.append(("error", str(error), others))
            monkeypatch.undo()
        assert results[0] == results[1], chosen
        outcomes.add(results[0][0])
    assert outcomes == {"read", "error"}


CODINGS = (
    {"system": "http://loinc.org", "code": "39156-5"},
    {"system": "http://loinc.org", "code": "8480-6"},
    {"system": "https://aanlevering.example/fhir/CodeSystem/meting", "code": "ASA"},
    {"system": "https://aanlevering.example/fhir/CodeSystem/meting", "code": "ER"},
    {"system": "https://aanlevering.example/fhir/CodeSystem/meting", "code": ["ASA"]},
    {"system": ["http://loinc.org"], "code": "39156-5"},
    {"system": "http://loinc.org"},
    {"code": "ASA"},
    "http://loinc.org",
    None,
)


def _coded(rng: random.Random, resource: dict[str, Any]) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.6:
        resource["code"] = {"coding": [rng.choice(CODINGS) for _ in range(rng.randint(0, 3))]}
    elif roll < 0.7:
        resource["code"] = rng.choice([{"coding": 5}, {"coding": "x"}, [1], 3, None])
    elif roll < 0.8:
        resource["code"] = rng.choice(CODINGS)  # a Coding where a CodeableConcept belongs
    elif roll < 0.9:
        resource["status"] = rng.choice(["entered-in-error", "final", 7])
    resource["partOf"] = [{"reference": "Procedure/p1"}]
    resource["encounter"] = rng.choice([{"reference": "Encounter/e1"}, [{"reference": 5}]])
    resource["focus"] = [{"reference": "Condition/c1"}]
    value = rng.choice([{"valueQuantity": {"value": 3}}, {"valueInteger": 2}, {"valueCode": "A"}])
    resource.update(value)
    return resource


@pytest.mark.parametrize("registration_id", REGISTRATIONS)
def test_related_readers_of_a_type_read_what_each_reads_on_its_own(
    demo: DemoResult, catalogue: Catalogue, registration_id: str
) -> None:
    """One walk of the codings gives each reader the rows (and errors) it gives alone."""
    plan = _plan(catalogue, registration_id)
    specs = _dataset_specs(plan)
    grouped, alone = _Dispatch(specs, plan.read, None), _Dispatch(specs, plan.read, None)
    assert grouped.related_of_type and all(g.items for g in grouped.related_of_type.values())
    rng = random.Random(315)
    resources = _demo_resources(demo, registration_id)
    resources += [_coded(rng, _resource(rng)) for _ in range(4_000)]
    kept = 0
    for row, resource in enumerate(resources):
        kind = str(resource["resourceType"])
        group = grouped.related_of_type.get(kind)
        if group is None:
            continue
        try:
            usable: bool | str = not entered_in_error(resource)
        except SHAPE_ERRORS as error:
            usable = type(error).__name__
        one = group.read(resource, row, "f:1", usable)
        each = [r.read(resource, row, "f:1", usable) for r in alone.related_of_type[kind].readers]
        assert one == any(each)
        kept += one
    assert kept > 100
    for ours, theirs in zip(grouped.focus.values(), alone.focus.values(), strict=True):
        for a, b in zip(ours.related, theirs.related, strict=True):
            assert a.rows.table().equals(b.rows.table())
            assert a.rows.rows == b.rows.rows


def _identity_or_error(patient: Any) -> Any:
    try:
        return patient_identity(patient, None), patient_identity(patient, "urn:mrn")
    except SHAPE_ERRORS as error:
        return type(error).__name__


def test_patient_identity_reads_dicts_as_any_mapping(demo: DemoResult) -> None:
    """The dict shortcut of the Mapping checks changes nothing (decision 0315)."""
    rng = random.Random(18)
    patients = [r for r in _demo_resources(demo, "dica-dsaa") if r["resourceType"] == "Patient"]
    awkward: list[Any] = [None, 5, "x", [], {}, [5], [{"extension": 3}], {"extension": [7]}]
    seen = set()
    for number in range(2_000):
        patient = json.loads(json.dumps(rng.choice(patients)))
        for _ in range(rng.randint(0, 3)):
            target: Any = patient
            path = rng.choice(
                [
                    ("identifier",),
                    ("name",),
                    ("address",),
                    ("name", 0, "_family"),
                    ("name", 0, "_given"),
                    ("address", 0, "_line"),
                    ("identifier", 0, "type"),
                ]
            )
            for step in path[:-1]:
                if isinstance(step, int):
                    target = target[0] if isinstance(target, list) and target else None
                else:
                    target = target.get(step) if isinstance(target, dict) else None
            if isinstance(target, dict):
                target[path[-1]] = json.loads(json.dumps(rng.choice(awkward)))
        plain = _identity_or_error(patient)
        assert _identity_or_error(proxied(patient)) == plain, number
        seen.add(isinstance(plain, str))
    assert seen == {True, False}


def _straight_first(groups: np.ndarray, candidates: np.ndarray, wanted: np.ndarray) -> list[int]:
    """As it was: a dict of each group's first candidate, asked per wanted value."""
    best: dict[int, int] = {}
    for position in candidates.tolist():
        best.setdefault(int(groups[position]), position)
    return [best.get(int(value), -1) for value in wanted.tolist()]


def test_first_candidates_per_group_are_the_dict_lookups() -> None:
    """Decision 0316: the picks of the joins a column at a time."""
    rng = np.random.default_rng(316)
    hits = 0
    for _ in range(2_000):
        size = int(rng.integers(0, 40))
        groups = rng.integers(-3, 12, size=size)
        candidates = np.flatnonzero(rng.random(size) < 0.6)
        wanted = rng.integers(-5, 15, size=int(rng.integers(0, 30)))
        found = first_at(groups, candidates, wanted)
        assert found.tolist() == _straight_first(groups, candidates, wanted)
        hits += int((found >= 0).sum())
    assert hits > 5_000
