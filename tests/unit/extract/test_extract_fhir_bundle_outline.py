"""A Bundle read an entry at a time gives what the whole read gives: resources, locations, errors.

The outline (``fhir_bundle_outline``) is pinned against the straightforward read
(``_bundle_resources_whole``: the file decoded at once) on the demo Bundles and on
hostile files, and each case asserts which way it went (outlined, or left to the
whole read). A last test shows why: the outline holds a fraction of what the
whole read holds.
"""

from __future__ import annotations

import json
import tracemalloc
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import Catalogue
from aanlevering.demo import DemoOptions, DemoResult, generate_demo_data
from aanlevering.errors import ExtractError
from aanlevering.extract import fhir_bundle_outline
from aanlevering.extract.fhir_bundle_outline import mapped_file, outline_bundle
from aanlevering.extract.fhir_store import _bundle_resources, _bundle_resources_whole
from aanlevering.json_input import MAX_DEPTH

PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-01-01"}
OBSERVATION = {"resourceType": "Observation", "id": "o1", "status": "final"}


def _read(read: Any, path: Path) -> tuple[str, Any]:
    """The resources a read gives, or its error's text (both paths, compared as they are)."""
    try:
        resources = read(path)
        return ("resources", None if resources is None else list(resources))
    except ExtractError as error:
        return ("error", str(error))


def _bundle(entries: Any, **members: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", **members, "entry": entries}


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


# (name, file text, outlined?)
CASES: list[tuple[str, str | bytes, bool]] = [
    ("plain", json.dumps(_bundle([{"resource": PATIENT}, {"resource": OBSERVATION}])), True),
    ("no entry", json.dumps({"resourceType": "Bundle", "type": "searchset"}), True),
    ("entry null", json.dumps(_bundle(None)), True),
    ("entry empty", json.dumps(_bundle([])), True),
    ("entry an object", json.dumps(_bundle({"resource": PATIENT})), False),
    ("entry empty object", json.dumps(_bundle({})), False),
    ("entry a string", json.dumps(_bundle("x")), False),
    ("entry not an object", json.dumps(_bundle([{"resource": PATIENT}, 5])), True),
    ("resource missing", json.dumps(_bundle([{"request": {"method": "DELETE"}}])), True),
    ("resource no type", json.dumps(_bundle([{"resource": {"id": "x"}}])), True),
    ("fullUrl a number", json.dumps(_bundle([{"resource": PATIENT, "fullUrl": 5}])), True),
    (
        "fullUrl and outcome",
        json.dumps(
            _bundle(
                [
                    {"resource": PATIENT, "fullUrl": "urn:uuid:1"},
                    {"resource": OBSERVATION, "search": {"mode": "outcome"}},
                ]
            )
        ),
        True,
    ),
    ("bad type", json.dumps({**_bundle([{"resource": PATIENT}]), "type": "message"}), True),
    ("bad type, entry object", json.dumps({**_bundle({}), "type": 5}), False),
    (
        "type missing",
        json.dumps({"resourceType": "Bundle", "entry": [{"resource": PATIENT}]}),
        True,
    ),
    (
        # Once "the last wins" (both reads alike); a key twice is an input error (0801).
        "duplicate keys: refused by the whole read",
        '{"resourceType":"Bundle","type":"batch","entry":[{"resource":'
        + json.dumps(OBSERVATION)
        + '}],"entry":[{"resource":'
        + json.dumps(PATIENT)
        + '}],"type":"collection"}',
        False,
    ),
    ("a single resource", json.dumps(PATIENT), False),
    ("no FHIR", json.dumps({"output": []}), False),
    ("a list", json.dumps([PATIENT]), False),
    ("truncated", json.dumps(_bundle([{"resource": PATIENT}]))[:-5], False),
    ("trailing text", json.dumps(_bundle([{"resource": PATIENT}])) + " x", False),
    ("NaN in an entry", '{"resourceType":"Bundle","type":"collection","entry":[NaN]}', False),
    ("NaN in meta", '{"resourceType":"Bundle","type":"collection","meta":NaN,"entry":[]}', False),
    (
        "invalid UTF-8 in the Bundle's id",
        b'{"resourceType":"Bundle","id":"\xff","type":"collection","entry":[]}',
        False,
    ),
    (
        "invalid UTF-8 in an entry",
        b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":'
        b'{"resourceType":"Patient","id":"\xfe"}}]}',
        False,
    ),
    (
        "a lone surrogate escape",
        '{"resourceType":"Bundle","type":"collection","entry":[{"resource":'
        '{"resourceType":"Patient","id":"\\ud800"}}]}',
        False,
    ),
    (
        "non-ASCII",
        json.dumps(_bundle([{"resource": {**PATIENT, "id": "Zoë-ß"}}]), ensure_ascii=False),
        True,
    ),
    ("escaped non-ASCII", json.dumps(_bundle([{"resource": {**PATIENT, "id": "Zoë"}}])), True),
    # The depth limit counts the levels above: a value at the limit is read, one deeper refused.
    (
        "entry at the depth limit",
        json.dumps(_bundle([{"resource": PATIENT, "x": _deep(MAX_DEPTH - 3)}])),
        True,
    ),
    (
        "entry one level too deep",
        json.dumps(_bundle([{"resource": PATIENT, "x": _deep(MAX_DEPTH - 2)}])),
        False,
    ),
    ("member at the depth limit", json.dumps({**_bundle([]), "meta": _deep(MAX_DEPTH - 1)}), True),
    ("member one level too deep", json.dumps({**_bundle([]), "meta": _deep(MAX_DEPTH)}), False),
    ("far too deep", '{"resourceType":"Bundle","entry":' + "[" * 9000 + "]" * 9000 + "}", False),
    ("a byte order mark", "\ufeff" + json.dumps(_bundle([{"resource": PATIENT}])), False),
]


@pytest.mark.parametrize(("name", "text", "outlined"), CASES, ids=[c[0] for c in CASES])
def test_a_bundle_read_an_entry_at_a_time_gives_what_the_whole_read_gives(
    tmp_path: Path, name: str, text: str | bytes, outlined: bool
) -> None:
    path = tmp_path / "bundle.json"
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(data)
    assert (outline_bundle(data) is not None) is outlined
    for skip_others in (False, True):
        whole = _read(partial(_bundle_resources_whole, skip_others=skip_others), path)
        assert _read(partial(_bundle_resources, skip_others=skip_others), path) == whole


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> DemoResult:
    out = tmp_path_factory.mktemp("outline") / "demo"
    return generate_demo_data(catalogue, DemoOptions(out_dir=out, patients=120, seed=43))


def test_the_demo_bundles_are_outlined_and_read_as_whole(demo: DemoResult) -> None:
    bundles = sorted((demo.out_dir / "fhir-bundles").rglob("*.json"))
    assert len(bundles) >= 3
    for path in bundles:
        assert outline_bundle(path.read_bytes()) is not None, path.name
        outlined = _read(_bundle_resources, path)
        assert outlined[0] == "resources" and outlined[1]
        assert outlined == _read(lambda p: _bundle_resources_whole(p, False), path)


def test_an_outlined_bundle_holds_a_fraction_of_what_the_whole_read_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fhir_bundle_outline, "MAP_FROM", 1 << 20)  # this file is mapped
    entry = {
        "fullUrl": "urn:uuid:00000000-0000-0000-0000-000000000000",
        "resource": {
            **OBSERVATION,
            "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
            "valueQuantity": {"value": 172, "unit": "cm"},
        },
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_bundle([entry] * 20_000)))

    def peak(read: Any) -> int:
        tracemalloc.start()
        try:
            count = sum(1 for _ in read(path))
            return tracemalloc.get_traced_memory()[1] if count == 20_000 else -1
        finally:
            tracemalloc.stop()

    whole = peak(lambda p: _bundle_resources_whole(p, False))
    outlined = peak(_bundle_resources)
    assert whole > 0 and outlined > 0
    # One entry at a time, against every entry decoded at once.
    assert outlined < whole / 4, (outlined, whole)
    # Nor the file's bytes: the file is mapped, not read into memory (decision 0503).
    assert outlined < path.stat().st_size / 2, (outlined, path.stat().st_size)


def test_only_large_files_are_mapped_and_both_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ordinary files are read (a map of a file cut short ends the process, 0503); large ones
    are mapped, and both give the whole read's resources and errors."""
    monkeypatch.setattr(fhir_bundle_outline, "MAP_FROM", 4096)
    small, large, empty = tmp_path / "small.json", tmp_path / "large.json", tmp_path / "empty.json"
    small.write_text(json.dumps(_bundle([{"resource": PATIENT}])))
    entries = [{"resource": {**OBSERVATION, "id": f"o{n}"}} for n in range(200)]
    large.write_text(json.dumps(_bundle([{"resource": PATIENT}, *entries])))
    empty.write_bytes(b"")
    assert small.stat().st_size < 4096 <= large.stat().st_size
    assert isinstance(mapped_file(small), bytes)
    assert isinstance(mapped_file(empty), bytes) and mapped_file(empty) == b""
    mapped = mapped_file(large)
    assert not isinstance(mapped, bytes) and mapped[:] == large.read_bytes()
    whole = partial(_bundle_resources_whole, skip_others=False)
    for path in (small, large, empty):
        assert _read(_bundle_resources, path) == _read(whole, path), path.name
    broken = tmp_path / "broken.json"  # a large file the outline leaves to the whole read
    broken.write_bytes(large.read_bytes()[:-1])
    error = _read(_bundle_resources, broken)
    assert error[0] == "error" and "not valid JSON" in error[1]
    assert error == _read(whole, broken)
