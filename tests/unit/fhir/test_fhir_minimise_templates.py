"""TextMinimiser's templates: elements with nested references, made once per shape.

An element whose references are nested (an extension's ``valueReference``, a
``performer[].actor``) differs between resources only in its reference texts; it is
minimised once with the reference texts marked, and each resource's references are
resolved and put in (decision 0620). Pinned against the straightforward version,
``json.dumps(minimise_resource(decoded))``, and the guard's notes against noting each
resource minimised whole.
"""

from __future__ import annotations

import json
import random
from collections import Counter
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
    minimise_resource,
)
from aanlevering.output.result import BuiltValues
from aanlevering.output.source_notes import SourceNotes

SALT = b"minimise-template-tests-salt-32b"
SORTED = msgspec.json.Encoder(order="sorted")  # as the extract writes the kept texts
URL = "https://aanlevering.example/fhir/StructureDefinition/"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _map(closed: bool, members: int = 40) -> ReferenceMap:
    references = ReferenceMap(ResourceIds(SALT), closed=closed)
    references.add_patient(["Patient/p1", "urn:uuid:patient-1"], "pseudo-1")
    references.add_patient(["Patient/p2"], "pseudo-2")
    references.add_keys([f"Procedure/x{n}" for n in range(members)])
    references.add_keys([f"Condition/c{n}" for n in range(members)])
    references.add_keys([f"Observation/o{n}" for n in range(members)])
    # The resources minimised (``r<n>``, ``c<n>``) are registered, as the writer does.
    for kind in ("Condition", "Procedure", "Observation"):
        references.add_keys([f"{kind}/r{n}" for n in range(3_000)])
        references.add_keys([f"{kind}/c{n}" for n in range(1_000)])
    return references


def _straight(text: bytes, references: ReferenceMap, style: ReferenceStyle) -> Any:
    try:
        minimised = minimise_resource(msgspec.json.decode(text), references, style)
    except (OutputError, TypeError, AttributeError, KeyError) as error:
        return ("error", type(error).__name__, str(error))
    patient = {k: minimised[k] for k in PATIENT_ELEMENTS if k in minimised}
    return (_dumps(minimised), patient, minimised["resourceType"], minimised["id"])


def _templated(text: bytes, minimiser: TextMinimiser) -> Any:
    try:
        item = minimiser.minimised(text)
    except (OutputError, TypeError, AttributeError, KeyError) as error:
        return ("error", type(error).__name__, str(error))
    return (item.text, item.patient_elements, item.resource_type, item.id)


def _counting(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often an element was made from a template (and how often it was not)."""
    made: Counter[str] = Counter()
    templated = TextMinimiser._templated

    def counted(self: TextMinimiser, *args: Any) -> Any:
        done = templated(self, *args)
        made["template" if done is not None else "whole"] += 1
        return done

    monkeypatch.setattr(TextMinimiser, "_templated", counted)
    return made


_TARGETS = (
    "Procedure/x1",
    "Procedure/x2",
    "Condition/c3",
    "Observation/o4",
    "Procedure/x{n}",
    "Condition/c{n}",
    "Practitioner/d1",  # shared: kept in an open map, removed in a closed one
    "Encounter/e{n}",  # not delivered: keyed (open) or removed (closed)
    "RelatedPerson/r1",  # always removed
    "Patient/p1",
    "urn:uuid:patient-1",
    "https://ehr.example/fhir/Procedure/x{n}",
    "Procedure/x{n}/_history/2",
    "#local",
    "urn:uuid:unknown",
    "Patient/p9",  # not delivered: an error
    "é/ü",
)


def _reference(rng: random.Random, n: int) -> str:
    return rng.choice(_TARGETS).format(n=n % 40)


def _element(rng: random.Random, n: int) -> tuple[str, Any]:
    """A top-level element with references nested in it, of a handful of shapes."""
    shape = rng.randrange(9)
    ref = _reference(rng, n)
    if shape == 0:
        return "extension", [
            {"url": URL + "na-verrichting", "valueReference": {"reference": ref}},
            {"url": URL + "reinterventie", "valueBoolean": rng.random() < 0.5},
        ]
    if shape == 1:
        return "performer", [
            {"actor": {"reference": ref, "display": "dr. Jansen"}, "function": {"text": "x"}},
            {"actor": {"reference": _reference(rng, n + 1)}},
        ]
    if shape == 2:  # two references in one element, their order matters
        return "extension", [
            {
                "url": URL + "paar",
                "extension": [
                    {"url": "a", "valueReference": {"reference": ref}},
                    {"url": "b", "valueReference": {"reference": _reference(rng, n + 7)}},
                ],
            }
        ]
    if shape == 3:  # a "reference" that is a plain value of an extension: kept as it is
        return "extension", [{"url": URL + "vrij", "reference": ref, "valueCode": "a"}]
    if shape == 4:  # an empty reference and a reference with a type and an identifier
        return "focus", [
            {"reference": ""},
            {"reference": ref, "type": "Procedure", "identifier": {"value": "OK-1"}},
        ]
    if shape == 5:  # escapes: minimised whole
        return "extension", [{"url": URL + "x", "valueReference": {"reference": ref + "\\/"}}]
    if shape == 6:  # references under dropped elements and personal extensions
        return "component", [
            {"code": {"text": "t"}, "note": [{"authorReference": {"reference": ref}}]},
            {"extension": [{"url": "p", "valueString": "vrij", "x": {"reference": ref}}]},
            {"valueQuantity": {"value": 3}, "focus": {"reference": ref}},
        ]
    if shape == 7:  # a nested subject: names no Patient at the top, a template
        return "extension", [{"url": URL + "wie", "valueReference": {"reference": "Patient/p2"}}]
    return "partOf", [{"reference": ref}, {"reference": _reference(rng, n + 3)}]


def _resources(seed: str, count: int) -> list[bytes]:
    rng = random.Random(seed)
    texts = []
    for n in range(count):
        resource: dict[str, Any] = {
            "resourceType": rng.choice(("Condition", "Procedure", "Observation")),
            "id": f"r{n}",
            "status": "final",
            "subject": {"reference": "Patient/p1" if n % 2 else "Patient/p2"},
        }
        for _ in range(rng.randrange(1, 4)):
            key, value = _element(rng, n)
            resource[key] = value
        text = SORTED.encode(resource)
        if "\\\\/" in text.decode():
            text = text.replace(b"\\\\/", b"\\/")  # a real escaped slash
        texts.append(text)
    return texts


@pytest.mark.parametrize("closed", [True, False])
@pytest.mark.parametrize("style", ["relative", "urn"])
def test_elements_made_from_templates_give_the_text_of_minimise_resource(
    closed: bool, style: ReferenceStyle, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = _resources(f"templates-{closed}-{style}", 3_000)
    straight_map = _map(closed)
    straight = [_straight(t, straight_map, style) for t in texts]
    made = _counting(monkeypatch)
    minimiser = TextMinimiser(_map(closed), style)
    for text, expected in zip(texts, straight, strict=True):
        assert _templated(text, minimiser) == expected, text
    # Both ways were taken: templates, and elements minimised whole (a removed reference,
    # a marker kept as a value, escapes), and the outcomes include errors.
    assert made["template"] > 1_000 and made["whole"] > 100
    assert {"error", "text"} == {"error" if s[0] == "error" else "text" for s in straight}


def test_a_template_is_made_once_per_shape_and_filled_per_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Conditions of the demo export: 1,000 extensions, two shapes, two templates."""
    texts = [
        SORTED.encode(
            {
                "resourceType": "Condition",
                "id": f"c{n}",
                "extension": [
                    {
                        "url": URL + "na-verrichting",
                        "valueReference": {"reference": f"Procedure/x{n}"},
                    },
                    {"url": URL + "reinterventie", "valueBoolean": n % 2 == 0},
                ],
            }
        )
        for n in range(1_000)
    ]
    references = _map(True, members=1_000)
    straight = [_straight(t, references, "relative") for t in texts]
    walked: list[str] = []
    element = minimise._Minimiser.element
    monkeypatch.setattr(
        minimise._Minimiser,
        "element",
        lambda self, value, key, top=False: walked.append(key) or element(self, value, key, top),
    )
    minimiser = TextMinimiser(_map(True, members=1_000), "relative")
    assert [_templated(t, minimiser) for t in texts] == straight
    # Each of the two shapes walked once, with markers (the list and its two items): not
    # once per Condition (3,000 walks).
    assert walked.count("extension") == 2 * 3


def test_a_removed_nested_reference_is_minimised_whole() -> None:
    """A closed delivery removes a reference to what it does not deliver: the element's
    shape then differs from its template's (the extension goes), as minimising whole gives."""
    texts = [
        SORTED.encode(
            {
                "resourceType": "Condition",
                "id": f"c{n}",
                "extension": [
                    {"url": URL + "x", "valueReference": {"reference": f"Procedure/x{n}"}}
                ],
            }
        )
        for n in (1, 999, 2)  # x999 is not delivered
    ]
    straight = [_straight(t, _map(True), "relative") for t in texts]
    minimiser = TextMinimiser(_map(True), "relative")
    assert [_templated(t, minimiser) for t in texts] == straight
    assert '"extension"' in straight[0][0] and '"extension"' not in straight[1][0]


def test_an_undelivered_patient_nested_fails_as_minimise_resource_does() -> None:
    ok, bad = (
        SORTED.encode(
            {
                "resourceType": "Condition",
                "id": "c1",
                "extension": [{"url": URL + "x", "valueReference": {"reference": patient}}],
            }
        )
        for patient in ("Patient/p1", "Patient/p9")
    )
    minimiser = TextMinimiser(_map(True), "relative")
    assert _templated(ok, minimiser) == _straight(ok, _map(True), "relative")
    with pytest.raises(OutputError) as error:
        minimiser.minimised(bad)
    with pytest.raises(OutputError) as straight_error:
        minimise_resource(msgspec.json.decode(bad), _map(True))
    assert str(error.value) == str(straight_error.value)


@pytest.mark.parametrize("closed", [True, False])
def test_the_guard_is_told_what_noting_each_resource_whole_tells_it(closed: bool) -> None:
    """Each template is told once, with its first resource's values: the guard's notes
    never read a ``reference`` member, so they are those of every resource noted whole."""
    texts = _resources(f"notes-{closed}", 2_000)
    whole = SourceNotes(BuiltValues())
    straight_map = _map(closed)
    for text in texts:
        try:
            resource = minimise_resource(msgspec.json.decode(text), straight_map)
        except OutputError:
            continue
        for key, value in resource.items():
            if key not in {"resourceType", "id", "meta"}:
                whole.element(str(resource["resourceType"]), key, value)
    templated = SourceNotes(BuiltValues())
    minimiser = TextMinimiser(_map(closed), "relative", templated.element)
    for text in texts:
        try:
            minimiser.minimised(text)
        except OutputError:
            continue
    assert templated.handed()[1] == whole.handed()[1]
    assert len(whole.handed()[1]) > 5


def test_templates_over_their_budget_start_afresh_with_the_same_texts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Templates are held under a budget (hostile input may invent shapes without end):
    over it, every template goes and is made again, the same texts."""
    texts = _resources("budget", 1_500)
    # One map for the straight texts, as the other tests build it: minimise_resource only reads
    # it (every r<n> is registered), and a map per text was 9 of this test's 10 seconds.
    straight_map = _map(True)
    straight = [_straight(t, straight_map, "relative") for t in texts]
    monkeypatch.setattr(minimise, "REMEMBERED_BYTES", 0)
    made = _counting(monkeypatch)
    held: list[int] = []
    minimiser = TextMinimiser(_map(True), "relative")
    for text, expected in zip(texts, straight, strict=True):
        assert _templated(text, minimiser) == expected, text
        held.append(
            sum(
                len(e.templates)
                for _, known in minimiser._elements.values()
                for e in known.values()
            )
        )
    assert made["template"] > 300
    assert max(held) <= 2  # cleared before each new one (a budget of 0 bytes)
