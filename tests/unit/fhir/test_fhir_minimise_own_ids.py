"""Own ids made a window of keys at a time: the bytes of the map's ids made one by one.

Decision 0510: the writer hashes each window of kept keys at once
(:meth:`ResourceIds.of_keys`) and hands the minimiser each text's key and id. Pinned
against the straightforward version: ``make`` of each key's type and id, and
``json.dumps(minimise_resource(decoded))`` for every text, including texts that are not
their key's resource (then the handed id must not be used) and keys that are not members.
"""

from __future__ import annotations

import json
import random
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.errors import OutputError
from aanlevering.fhir.ids import ResourceIds
from aanlevering.fhir.minimise import ReferenceMap, ReferenceStyle, TextMinimiser, minimise_resource

SALT = b"own ids test: a salt of 32 bytes"
SORTED = msgspec.json.Encoder(order="sorted")
PARTS = st.text(min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.tuples(PARTS, PARTS), max_size=60))
def test_of_keys_is_make_of_each_keys_type_and_id(keys: list[tuple[str, str]]) -> None:
    ids = ResourceIds(SALT)
    texts = [f"{kind}/{source_id}" for kind, source_id in keys]
    # A key splits at its first slash, as add_keys and the map's delivered_id split it.
    expected = [ids.make(*text.split("/", 1)) for text in texts]
    assert ids.of_keys(texts) == expected


def test_of_keys_of_no_keys_is_empty() -> None:
    assert ResourceIds(SALT).of_keys([]) == []


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _resources(rng: random.Random, count: int) -> list[dict[str, Any]]:
    resources = []
    for n in range(count):
        kind = rng.choice(("Observation", "Procedure", "Condition"))
        resource: dict[str, Any] = {
            "resourceType": kind,
            "id": rng.choice((f"r{n}", f"r/{n}", f"é\\{n}", f'q"{n}')),
            "status": rng.choice(("final", "done")),
            "subject": {"reference": rng.choice(("Patient/p1", "Patient/p2"))},
        }
        if rng.random() < 0.5:
            resource["partOf"] = [{"reference": f"Procedure/r{rng.randrange(count)}"}]
        if rng.random() < 0.2:
            resource["identifier"] = [{"value": "MRN0012345"}]
        resources.append(resource)
    return resources


def _map(resources: list[dict[str, Any]], keys: list[str]) -> ReferenceMap:
    references = ReferenceMap(ResourceIds(SALT), closed=True)
    references.add_patient(["Patient/p1"], "pseudo-1")
    references.add_patient(["Patient/p2"], "pseudo-2")
    references.add_keys(keys)
    return references


def _outcome(call: Any) -> Any:
    try:
        item = call()
    except OutputError as error:
        return ("error", str(error))
    return (item.text, item.resource_type, item.id)


@pytest.mark.parametrize("style", ["relative", "urn"])
def test_texts_with_their_keys_and_ids_give_the_text_of_minimise_resource(
    style: ReferenceStyle,
) -> None:
    rng = random.Random(f"own-ids-{style}")
    resources = _resources(rng, 2_000)
    keys = [f"{r['resourceType']}/{r['id']}" for r in resources]
    texts = [SORTED.encode(r) for r in resources]
    straight_map = _map(resources, keys)
    expected = []
    for text in texts:
        minimised = minimise_resource(msgspec.json.decode(text), straight_map, style)
        expected.append((_dumps(minimised), minimised["resourceType"], minimised["id"]))
    ids = ResourceIds(SALT)
    minimiser = TextMinimiser(_map(resources, keys), style)
    got = [
        _outcome(lambda t=t, k=k, i=i: minimiser.minimised(t, k, i))
        for t, k, i in zip(texts, keys, ids.of_keys(keys), strict=True)
    ]
    assert got == expected
    assert all('"identifier"' not in text for text, _, _ in got)


def test_a_text_that_is_not_its_keys_resource_takes_the_maps_id() -> None:
    """The handed id is only used when the text's own type and id are the key."""
    resources = _resources(random.Random("not-its-key"), 200)
    keys = [f"{r['resourceType']}/{r['id']}" for r in resources]
    texts = [SORTED.encode(r) for r in resources]
    shifted = keys[1:] + keys[:1]  # each text handed another resource's key and id
    wrong = ["00000000-0000-4000-8000-000000000000"] * len(keys)
    plain = TextMinimiser(_map(resources, keys), "relative")
    handed = TextMinimiser(_map(resources, keys), "relative")
    expected = [_outcome(lambda t=t: plain.minimised(t)) for t in texts]
    got = [
        _outcome(lambda t=t, k=k, i=i: handed.minimised(t, k, i))
        for t, k, i in zip(texts, shifted, wrong, strict=True)
    ]
    assert got == expected
    assert not any(wrong[0] in str(outcome) for outcome in got)


def test_an_unregistered_resource_with_a_handed_id_is_registered_as_without() -> None:
    """A key that is not the text's goes to the map, which registers an unknown resource."""
    resource = {"resourceType": "Observation", "id": "new", "status": "final"}
    text = SORTED.encode(resource)
    plain_map = _map([], [])
    handed_map = _map([], [])
    expected = TextMinimiser(plain_map, "relative").minimised(text)
    got = TextMinimiser(handed_map, "relative").minimised(text, "Observation/other", "x")
    assert (got.text, got.id) == (expected.text, expected.id)
    assert handed_map.members() == plain_map.members()
