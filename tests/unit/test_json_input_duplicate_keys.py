"""A key written twice in one JSON object is an input error, never "the last one wins" (0801).

The exact test (:func:`duplicate_free`) is compared with Python's own reading of
every pair of members (``object_pairs_hook``) over real FHIR lines written in
the forms exports use: compact, spaced, pretty-printed, with ``\\u`` escapes
and escaped quotes, each with and without a repeated key.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import msgspec
import pytest

from aanlevering.json_input import DuplicateKeyError, duplicate_free, parse

NL = Path(__file__).resolve().parents[1] / "fixtures" / "extract" / "fhir-nl"
BSN = "999911120"


def _repeats_a_key(text: bytes) -> bool:
    found = False

    def pairs(members: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        found = found or len({key for key, _ in members}) != len(members)
        return dict(members)

    json.loads(text, object_pairs_hook=pairs)
    return found


def _ascii_escaped(text: str) -> str:
    return json.dumps(json.loads(text), ensure_ascii=True)


def _forms(line: str) -> list[bytes]:
    value = json.loads(line)
    return [
        line.encode(),
        json.dumps(value).encode(),  # ", " and ": "
        json.dumps(value, indent=2).encode(),
        json.dumps(value, separators=(" ,", " : ")).encode(),  # a space before the colon
        json.dumps(value, ensure_ascii=True).encode(),
        line.replace('"id"', '"\\u0069d"').encode(),  # an escaped key is the same key
        line.replace('"system"', '"sys\\"tem"').encode(),  # an escaped quote in a key
    ]


def _with_a_repeat(text: bytes, rng: random.Random) -> bytes:
    """``text`` with one object's first member written once more, at the object's end."""
    value = json.loads(text)
    objects: list[dict[str, Any]] = []
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node:
                objects.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    target = rng.choice(objects)
    key = next(iter(target))
    target[key + "\x00marker"] = None
    written = json.dumps(value, separators=rng.choice([(",", ":"), (", ", ": "), (" ,", " : ")]))
    marker = json.dumps(key + "\x00marker")[:-1] + '"'
    return written.replace(marker, json.dumps(key)).encode()


def _fixture_lines() -> list[str]:
    return [line for path in sorted(NL.glob("*.ndjson")) for line in path.read_text().splitlines()]


def test_duplicate_free_agrees_with_pythons_reading_of_every_member() -> None:
    rng = random.Random(801)
    checked = repeated = 0
    for line in _fixture_lines():
        for form in _forms(line):
            assert _repeats_a_key(form) is False
            assert duplicate_free(form, msgspec.json.decode(form)), form[:80]
            twice = _with_a_repeat(form, rng)
            assert _repeats_a_key(twice) is True
            assert not duplicate_free(twice, msgspec.json.decode(twice)), twice[:80]
            checked += 1
            repeated += 1
    assert checked > 50 and repeated == checked


def test_a_repeated_identifier_is_refused_with_the_key_and_where_not_the_value() -> None:
    text = (
        '{"resourceType":"Patient","id":"p",\n'
        f' "identifier":[{{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"{BSN}"}}],\n'
        ' "identifier":[]}'
    )
    with pytest.raises(DuplicateKeyError) as raised:
        parse(text)
    message = str(raised.value)
    assert message == 'the key "identifier" appears twice in one object at line 3, column 2'
    assert BSN not in message


@pytest.mark.parametrize(
    "text",
    [
        '{"id":"a","id":"b"}',
        '{"subject":{"reference":"Patient/1","reference":"Patient/2"}}',
        '{"a":[{"value":"1"},{"value":"2","value":"3"}]}',
        '{"id":"a","\\u0069d":"b"}',
        '{"id" :"a" , "id" : "b"}',
    ],
)
def test_a_key_twice_at_any_depth_and_in_any_spelling_is_refused(text: str) -> None:
    with pytest.raises(DuplicateKeyError, match="appears twice in one object"):
        parse(text)


def test_a_key_that_is_no_element_name_is_not_shown() -> None:
    with pytest.raises(DuplicateKeyError) as raised:
        parse(f'{{"{BSN}":1,"{BSN}":2}}')
    assert BSN not in str(raised.value) and "not shown" in str(raised.value)


def test_the_same_key_in_different_objects_is_fine() -> None:
    assert parse('{"a":{"id":"x"},"b":{"id":"y"},"id":"z","c":[{"id":1},{"id":2}]}')["id"] == "z"
