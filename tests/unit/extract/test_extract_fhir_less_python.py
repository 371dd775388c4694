"""Less Python per resource in the streaming reader: each shortcut equals the plain code (0335).

The shortcuts skip work the general code does for every resource (an ABC check
for decoded JSON objects, which are dicts; a generator for a resource without
``verificationStatus``; a loop over kept keys that are only copied). Each is
compared with the straightforward version on random awkward values and, where
the values may be any Mapping, on read-only Mappings that are no dicts.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pytest
from tests.support.mapping_proxies import proxied

from aanlevering.extract import fhir_resources
from aanlevering.extract.fhir import entered_in_error as stored_entered_in_error
from aanlevering.extract.fhir_columns import KeyBuilder, encode, reference_of
from aanlevering.extract.fhir_resources import ReadElements, cut, cut_as_written
from aanlevering.extract.fhir_store import SHAPE_ERRORS
from aanlevering.extract.fhir_stream import _reference, entered_in_error
from aanlevering.extract.fhirpath import compile_path

AWKWARD: tuple[Any, ...] = (
    None,
    0,
    False,
    True,
    "",
    "entered-in-error",
    "Patient/p1",
    " Patient/p2 ",
    [],
    {},
    [None],
    [5],
    5,
    {"coding": None},
    {"coding": []},
    {"coding": 5},
    {"coding": "entered-in-error"},
    {"coding": [{"code": "entered-in-error"}]},
    {"coding": [{"code": "confirmed"}, {"code": "entered-in-error"}]},
    {"coding": [5, {"code": ["entered-in-error"]}]},
    {"reference": "Encounter/e1"},
    {"reference": 5},
    {"reference": None},
    {"reference": ["Encounter/e1"]},
    [{"reference": "Encounter/e1"}, {"reference": "Encounter/e2"}],
)


def _outcome(function: Callable[..., Any], *arguments: Any) -> Any:
    try:
        return ("value", function(*arguments))
    except SHAPE_ERRORS as error:
        return ("error", type(error).__name__)


def _random_resource(rng: random.Random) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Condition", "id": "c1"}
    for name in ("status", "verificationStatus", "encounter", "subject", "context"):
        if rng.random() < 0.6:
            resource[name] = json.loads(json.dumps(rng.choice(AWKWARD)))
    return resource


def test_entered_in_error_is_the_store_readers_check() -> None:
    """The same answer (or the same error) as the store reader's check, dicts or Mappings."""
    rng = random.Random(335)
    seen = set()
    for _ in range(5_000):
        resource = _random_resource(rng)
        expected = _outcome(stored_entered_in_error, resource)
        assert _outcome(entered_in_error, resource) == expected, resource
        assert _outcome(entered_in_error, proxied(resource)) == expected, resource
        seen.add(repr(expected))
    assert {"('value', True)", "('value', False)"} < seen
    assert any("error" in outcome for outcome in seen)


def _straight_reference(resource: Mapping[str, Any], name: str) -> str | None:
    """As it was: any Mapping with a text ``reference``."""
    value = resource.get(name)
    if isinstance(value, Mapping) and isinstance(value.get("reference"), str):
        return str(value["reference"]).strip()
    return None


def _straight_reference_of(item: Any) -> str | None:
    reference = item.get("reference") if isinstance(item, Mapping) else item
    return reference.strip() if isinstance(reference, str) else None


@pytest.mark.parametrize("as_proxies", [False, True])
def test_reference_readers_are_the_mapping_checks(as_proxies: bool) -> None:
    found = set()
    for value in AWKWARD:
        item = proxied(value) if as_proxies else value
        resource = {"encounter": item}
        assert _reference(resource, "encounter") == _straight_reference(resource, "encounter")
        assert _reference(resource, "subject") is None
        found.add(_reference(resource, "encounter"))
        if not isinstance(item, list):
            assert reference_of(item) == _straight_reference_of(item)
    assert "Encounter/e1" in found


def _as_written(reference: str) -> str | None:
    return None


def test_cut_as_written_keeps_an_extension_list_kept_whole_as_cut_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An extension list a type requires is kept whole the general way, not in the dict display."""
    required = fhir_resources.required
    monkeypatch.setattr(
        fhir_resources,
        "required",
        lambda kind: frozenset({"extension"}) if kind == "Basic" else required(kind),
    )
    read = ReadElements()
    read.add_path("Basic", compile_path("code.coding.code"))
    rng = random.Random(336)
    lists = 0
    for _ in range(2_000):
        resource: dict[str, Any] = {"resourceType": "Basic", "id": "b1"}
        if rng.random() < 0.8:
            resource["extension"] = rng.choice(
                [
                    [{"url": "https://x/unread", "valueCode": "A"}],
                    [{"url": "https://x/u", "extension": [{"url": "https://x/v"}]}],
                    [],
                    None,
                    {"url": "https://x/u"},
                    "text",
                ]
            )
        if rng.random() < 0.5:
            resource["code"] = {"coding": [{"code": "x", "system": "s"}], "text": "t"}
        if rng.random() < 0.3:
            resource["note"] = [{"text": "left out"}]
        text = cut_as_written(resource, read)
        assert text == encode(cut(resource, read, _as_written)), resource
        lists += '"extension":[' in text
    assert lists > 100


def test_rows_of_a_type_are_the_union_with_the_other_rows() -> None:
    """Without other rows the rows of a type are taken as found, not sorted again (0335)."""
    rng = random.Random(337)
    plain = 0
    for _ in range(300):
        builder = KeyBuilder()
        odd = rng.random() < 0.5
        for number in range(rng.randint(0, 40)):
            resource: dict[str, Any] = {"resourceType": rng.choice(["Patient", "Encounter"])}
            if not odd or rng.random() < 0.8:
                resource["id"] = rng.choice(["a", "b", "c", "d"])
            full_url = rng.choice([None, "urn:uuid:a"]) if odd else None
            builder.add(resource, f"f:{number}", full_url)
        keys = builder.done()
        plain += len(keys.other_rows) == 0
        for kind in ("Patient", "Encounter", "Condition"):
            of_type = np.flatnonzero(np.asarray(pc.equal(keys.type, kind).to_numpy(False)))
            expected = np.union1d(of_type, keys.other_rows)
            found = keys.rows_of_type(kind)
            assert found.dtype == expected.dtype and found.tolist() == expected.tolist()
    assert 50 < plain < 300
