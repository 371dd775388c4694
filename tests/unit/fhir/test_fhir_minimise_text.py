"""TextMinimiser: the delivered text of minimise_resource, made from texts, elements remembered.

Pinned against the straightforward version, ``json.dumps(minimise_resource(decoded))``,
on the test source's resources and on random awkward ones: extensions, contained
resources, references of every kind, primitive extensions, escapes, numbers
``json.dumps`` writes differently from msgspec, empty results and errors.
"""

from __future__ import annotations

import json
import random
from typing import Any

import msgspec
import pytest

from aanlevering.errors import OutputError
from aanlevering.fhir import minimise
from aanlevering.fhir.ids import ResourceIds
from aanlevering.fhir.minimise import (
    PATIENT_ELEMENTS,
    ReferenceMap,
    ReferenceStyle,
    TextMinimiser,
    _key,
    minimise_resource,
)

SALT = b"minimise-text-tests-salt-32-byte"
SORTED = msgspec.json.Encoder(order="sorted")  # as the extract writes the kept texts


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _references(
    resources: list[dict[str, Any]], closed: bool, patients: tuple[str, ...] = ("p1", "p2")
) -> ReferenceMap:
    references = ReferenceMap(ResourceIds(SALT), closed=closed)
    for n, patient in enumerate(patients):
        references.add_patient([f"Patient/{patient}", f"urn:uuid:patient-{n}"], f"pseudo-{n}")
    for resource in resources:
        references.add(resource)
    return references


def _straight(resource: Any, references: ReferenceMap, style: ReferenceStyle) -> Any:
    """What the writer delivered before: (text, patient elements), or the error's message."""
    try:
        minimised = minimise_resource(resource, references, style)
    except (OutputError, TypeError, AttributeError, KeyError) as error:  # hostile: alike
        return ("error", type(error).__name__, str(error))
    patient = {k: minimised[k] for k in PATIENT_ELEMENTS if k in minimised}
    return (_dumps(minimised), patient, minimised["resourceType"], minimised["id"])


def _from_text(text: str | bytes, minimiser: TextMinimiser) -> Any:
    try:
        item = minimiser.minimised(text)
    except (OutputError, TypeError, AttributeError, KeyError) as error:
        return ("error", type(error).__name__, str(error))
    return (item.text, item.patient_elements, item.resource_type, item.id)


def _both(
    texts: list[bytes], registered: list[dict[str, Any]], closed: bool, style: ReferenceStyle
) -> tuple[list[Any], list[Any]]:
    """Every text minimised both ways, in order, each way with its own reference map."""
    straight_map = _references(registered, closed)
    minimiser = TextMinimiser(_references(registered, closed), style)
    straight = [_straight(msgspec.json.decode(t), straight_map, style) for t in texts]
    remembered = [_from_text(t, minimiser) for t in texts]
    return straight, remembered


@pytest.mark.parametrize("closed", [True, False])
@pytest.mark.parametrize("style", ["relative", "urn"])
def test_the_source_resources_give_the_text_of_minimise_resource(
    source: dict[str, Any], closed: bool, style: ReferenceStyle
) -> None:
    resources = source["resources"]
    patients = ("pat-MRN0012345", "pat-MRN0067890")
    for encode in (SORTED.encode, lambda r: _dumps(r).encode()):
        texts = [encode(r) for r in resources] * 3  # the second and third time: remembered
        straight_map = _references(resources, closed, patients)
        minimiser = TextMinimiser(_references(resources, closed, patients), style)
        straight = [_straight(msgspec.json.decode(t), straight_map, style) for t in texts]
        assert [_from_text(t, minimiser) for t in texts] == straight
        assert all(s[0] != "error" for s in straight)


def test_a_resource_registered_while_minimising_is_resolved_afterwards_too() -> None:
    """A change to the reference map forgets what was remembered (it would resolve anew)."""
    pointing = {"resourceType": "Observation", "id": "o1", "partOf": [{"reference": "Procedure/x"}]}
    again = {"resourceType": "Observation", "id": "o2", "partOf": [{"reference": "Procedure/x"}]}
    late = {"resourceType": "Procedure", "id": "x", "status": "done"}
    texts = [SORTED.encode(r) for r in (pointing, late, again)]
    straight, remembered = _both(texts, [pointing, again], closed=True, style="relative")
    assert remembered == straight
    assert '"partOf"' not in remembered[0][0]  # not delivered yet: removed in a closed map
    assert '"partOf":[{"reference":"Procedure/' in remembered[2][0]  # registered since


# -- random awkward resources --------------------------------------------------------------

_NAMES = (
    "status",
    "code",
    "coding",
    "system",
    "display",
    "text",
    "reference",
    "type",
    "identifier",
    "id",
    "extension",
    "modifierExtension",
    "url",
    "valueString",
    "valueReference",
    "valueQuantity",
    "valueCode",
    "valueBoolean",
    "value",
    "note",
    "subject",
    "patient",
    "individual",
    "partOf",
    "encounter",
    "component",
    "_status",
    "meta",
    "resourceType",
    "performer",
    "focus",
)
_REFERENCES = (
    "Patient/p1",
    "Patient/p2",
    "Patient/p3",  # not in the delivery: an error
    "https://ehr.example/fhir/Patient/p1",
    "urn:uuid:patient-1",
    "Observation/o1",
    "Observation/o9",  # registered only when its own text comes along
    "Procedure/x/_history/2",
    "Practitioner/d1",
    "RelatedPerson/r1",
    "Encounter/e1",
    "#c1",
    "#nowhere",
    "urn:uuid:unknown",
    "",
    "Observation/o1?x=1",
    "/",
    "_history/x",
)
_STRINGS = (
    "final",
    "",
    "héél",
    "line\u2028break",
    'quote " and \\ backslash',
    "tab\tand\u0001control",
    "\u00e9\U0001f600",
    "2026-03-01",
    "null",
    "{}",
)
_NUMBERS = (0, -0.0, 1e-05, 1e16, 1e22, 26.5, 64.0, 2**63 - 1, -(2**63), 0.1 + 0.2, 1e308)


def _scalar(rng: random.Random) -> Any:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice(_STRINGS)
    if kind == 1:
        return rng.choice(_NUMBERS)
    if kind == 2:
        return rng.choice((True, False, None))
    return rng.choice(_REFERENCES)


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth <= 0 or roll < 0.35:
        return _scalar(rng)
    if roll < 0.45:
        return rng.choice(([], {}, [None], [{}]))
    if roll < 0.6:
        return {"reference": rng.choice(_REFERENCES), **_members(rng, depth - 1, 0, 2)}
    if roll < 0.75:
        return [_value(rng, depth - 1) for _ in range(rng.randrange(1, 3))]
    return _members(rng, depth - 1, 1, 4)


def _members(rng: random.Random, depth: int, low: int, high: int) -> dict[str, Any]:
    return {rng.choice(_NAMES): _value(rng, depth) for _ in range(rng.randrange(low, high))}


def _resource(rng: random.Random, pool: list[tuple[str, Any]]) -> dict[str, Any]:
    kind = rng.choice(("Observation", "Procedure", "Condition", "Observation", "Practitioner"))
    resource: dict[str, Any] = {"resourceType": kind, "id": rng.choice(("o1", "o9", "x", "c"))}
    if rng.random() < 0.05:
        del resource["id"]
    if rng.random() < 0.05:
        resource["resourceType"] = rng.choice((7, None, ""))
    for _ in range(rng.randrange(1, 7)):
        if pool and rng.random() < 0.6:  # elements repeat across resources, as in an export
            name, value = rng.choice(pool)
        else:
            name, value = rng.choice(_NAMES), _value(rng, 3)
            pool.append((name, value))
        resource[name] = value
    if rng.random() < 0.1:
        kind = rng.choice(("Observation", "Patient"))
        resource["contained"] = [{"resourceType": kind, "id": "c1", **_members(rng, 2, 0, 3)}]
    return resource


@pytest.mark.parametrize("closed", [True, False])
@pytest.mark.parametrize("style", ["relative", "urn"])
def test_random_awkward_resources_give_the_text_of_minimise_resource(
    closed: bool, style: ReferenceStyle
) -> None:
    rng = random.Random(f"minimise-text-{closed}-{style}")
    pool: list[tuple[str, Any]] = []
    resources = [_resource(rng, pool) for _ in range(3_000)]
    texts = [SORTED.encode(r) if n % 2 else _dumps(r).encode() for n, r in enumerate(resources)]
    registered = [
        {"resourceType": "Observation", "id": "o1"},
        {"resourceType": "Observation", "id": "x"},
        {"resourceType": "Procedure", "id": "x"},
        {"resourceType": "Condition", "id": "c"},
    ]
    straight, remembered = _both(texts, registered, closed, style)
    for text, expected, got in zip(texts, straight, remembered, strict=True):
        assert got == expected, text
    kinds = {"error" if s[0] == "error" else "text" for s in straight}
    assert kinds == {"error", "text"}  # both outcomes were exercised
    assert sum('"reference"' in s[0] for s in straight if s[0] != "error") > 100


def test_forgetting_when_full_gives_the_same_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random("forget")
    pool: list[tuple[str, Any]] = []
    texts = [SORTED.encode(_resource(rng, pool)) for _ in range(500)]
    straight, _ = _both(texts, [], closed=True, style="relative")
    monkeypatch.setattr(minimise, "REMEMBERED_BYTES", 0)
    monkeypatch.setattr(minimise, "LONGEST_REMEMBERED", 8)
    _, forgetting = _both(texts, [], closed=True, style="relative")
    assert forgetting == straight


def test_a_text_that_is_not_an_object_fails_as_minimise_resource_does() -> None:
    minimiser = TextMinimiser(ReferenceMap(ResourceIds(SALT)), "relative")
    with pytest.raises(AttributeError):
        minimiser.minimised(b"[1, 2]")


def test_key_of_a_plain_reference_is_what_splitting_gives() -> None:
    """_key's shortcut for ``Type/id`` gives what its split gives, on awkward texts."""
    rng = random.Random("key")
    alphabet = "ab/?_histoy#:.1"
    texts = [*_REFERENCES, "a/_history", "_history/", "Obs/_history_x", "//", "a//b"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(5000)]

    def split(reference: str) -> str:
        parts = reference.split("?", maxsplit=1)[0].rstrip("/").split("/")
        if "_history" in parts:
            parts = parts[: parts.index("_history")]
        return "/".join(parts[-2:]) if len(parts) >= 2 else reference

    for text in texts:
        assert _key(text) == split(text), text


def test_registering_keys_is_registering_each_resource() -> None:
    """ReferenceMap.add_keys (the writer's registration) answers as add of each resource."""
    keys = ["Observation/o1", "Observation/o.2/x", "Encounter/e1", "Procedure/p-1"]
    by_key, by_resource = ReferenceMap(ResourceIds(SALT)), ReferenceMap(ResourceIds(SALT))
    by_key.add_keys(iter(keys))
    for key in keys:
        resource_type, _, source_id = key.partition("/")
        by_resource.add({"resourceType": resource_type, "id": source_id})
    asked = [*keys, "Observation/o.2", "Observation/o3", "https://x/Encounter/e1", "o1", ""]
    for reference in asked:
        assert by_key.resolve(reference) == by_resource.resolve(reference), reference
    for resource_type, source_id in (k.partition("/")[::2] for k in asked):
        assert by_key.delivered_id(resource_type, source_id) == by_resource.delivered_id(
            resource_type, source_id
        )
    for bad, resource in (("Observation/", {"resourceType": "Observation", "id": ""}),
                          ("/x", {"resourceType": "", "id": "x"}),
                          ("no-slash", {"resourceType": "no-slash"})):  # fmt: skip
        with pytest.raises(OutputError) as by_key_error:
            ReferenceMap(ResourceIds(SALT)).add_keys([bad])
        with pytest.raises(OutputError) as by_resource_error:
            ReferenceMap(ResourceIds(SALT)).add(resource)
        assert str(by_key_error.value) == str(by_resource_error.value)


def _plain_reference(value: Any) -> bool:
    """``{"reference": ...}`` or a list of one: only the delivered reference, not told."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return isinstance(value, dict) and list(value) == ["reference"]


@pytest.mark.parametrize("closed", [True, False])
def test_every_element_written_is_told_for_its_resource_type(closed: bool) -> None:
    """What the output guard notes: per resource type, every element value a text carries
    (but a plain reference, whose only value is the delivered reference)."""
    rng = random.Random(f"told-{closed}")
    pool: list[tuple[str, Any]] = []
    resources = [_resource(rng, pool) for _ in range(2_000)]
    told: set[tuple[str, str, str]] = set()
    minimiser = TextMinimiser(
        _references([], closed),
        "relative",
        lambda kind, key, value: told.add((kind, key, _dumps(value))),
    )
    carried: set[tuple[str, str, str]] = set()
    for resource in resources:
        try:
            item = minimiser.minimised(SORTED.encode(resource))
        except (OutputError, TypeError, AttributeError, KeyError):
            continue
        written = json.loads(item.text)
        carried |= {
            (item.resource_type, key, _dumps(value))
            for key, value in written.items()
            if key not in {"resourceType", "id", "meta"} and not _plain_reference(value)
        }
    assert carried and carried <= told
    assert len({kind for kind, _, _ in carried}) >= 3


def test_plain_references_do_not_crowd_out_the_remembered_elements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Plain references (mostly each seen once) are made every time and not remembered, so a
    memory of a few elements keeps the repeated ``code``: made (and told) once, same texts."""
    monkeypatch.setattr(minimise, "REMEMBERED_BYTES", 5_000)
    code = {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": "hartslag"}
    resources = [
        {
            "resourceType": "Observation",
            "id": f"o{n}",
            "status": "final",
            "code": code,
            "encounter": {"reference": f"Encounter/e{n}"},
            "partOf": [{"reference": f"Procedure/p{n}"}],
            "subject": {"reference": f"Patient/p{n % 2 + 1}"},
        }
        for n in range(1_000)
    ]
    texts = [SORTED.encode(r) for r in resources]
    straight = _both(texts, resources, closed=False, style="relative")[0]
    told: list[str] = []
    minimiser = TextMinimiser(
        _references(resources, False), "relative", lambda _, key, __: told.append(key)
    )
    assert [_from_text(t, minimiser) for t in texts] == straight
    assert told.count("code") == 1 and told.count("status") == 1
    assert '"partOf":[{"reference":"Procedure/' in straight[0][0]  # keyed (an open map)


def test_a_plain_reference_repeated_by_the_next_resources_is_made_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last plain reference per name is kept: a Patient's ``subject`` on resources that
    follow each other is resolved once, with the texts of minimise_resource."""
    resources = [
        {
            "resourceType": "Observation",
            "id": f"o{n}",
            "subject": {"reference": f"Patient/p{n // 4 + 1}"},
            "encounter": {"reference": "Encounter/e1" if n % 2 else "Encounter/e2"},
        }
        for n in range(8)
    ]
    texts = [SORTED.encode(r) for r in resources]
    straight = _both(texts, resources, closed=False, style="urn")[0]
    made: list[str] = []
    plain = minimise.TextMinimiser._plain
    monkeypatch.setattr(
        minimise.TextMinimiser,
        "_plain",
        lambda self, kind, id, element, found: (
            made.append(found[0]) or plain(self, kind, id, element, found)
        ),
    )
    minimiser = TextMinimiser(_references(resources, False), "urn")
    assert [_from_text(t, minimiser) for t in texts] == straight
    assert made.count("Patient/p1") == made.count("Patient/p2") == 1
    assert made.count("Encounter/e1") == 4  # alternating: made every time
