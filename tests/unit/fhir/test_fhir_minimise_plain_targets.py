"""TextMinimiser's plain references answered from the map at once (decision 0621).

A plain reference (``{"reference": ...}`` or a list of one) the map holds as a target, or
written as its own key as a member, is made without :meth:`_Minimiser.target`'s calls;
pinned to what ``target`` gives, for whole and part maps, both styles, and hostile texts.
"""

from __future__ import annotations

import pytest

from aanlevering.errors import OutputError
from aanlevering.fhir import minimise
from aanlevering.fhir.ids import ResourceIds
from aanlevering.fhir.minimise import (
    PartReferenceMap,
    ReferenceMap,
    ReferenceStyle,
    TextMinimiser,
    _Element,
)

SALT = b"minimise-plain-tests-salt-32-byt"
TEXTS = (
    "Patient/p1",
    "urn:uuid:patient-1",
    "https://ehr.example/fhir/Patient/p1",
    "Patient/p9",  # not delivered: an error
    "Procedure/x1",
    "Procedure/x9",  # not delivered
    "Procedure/x1/_history/2",
    "https://ehr.example/fhir/Procedure/x1",
    "urn:uuid:bundle-entry",
    "#x1",
    "#a/b",  # a local reference that is also a registered key
    "Practitioner/d1",
    "RelatedPerson/r1",
    "Encounter/e1",
    "Procedure/x1?_format=json",
    "é/ü",
    "/",
)


def _map(closed: bool) -> ReferenceMap:
    references = ReferenceMap(ResourceIds(SALT), closed=closed)
    references.add_patient(
        ["Patient/p1", "urn:uuid:patient-1", "https://ehr.example/fhir/Patient/p1"], "pseudo-1"
    )
    references.add_keys(["Procedure/x1", "#a/b", "Observation/o1"])
    references.add({"resourceType": "Condition", "id": "c1"}, "urn:uuid:bundle-entry")
    return references


def _straight(references: ReferenceMap, style: ReferenceStyle, text: str, listed: bool) -> object:
    minimiser = minimise._Minimiser(references, style, "Observation o1", {})
    try:
        target = minimiser.target(text)
    except OutputError as error:
        return ("error", str(error))
    if target is None:
        return None
    value = {"reference": target}
    return minimise.delivered_json([value] if listed else value)


@pytest.mark.parametrize("closed", [True, False])
@pytest.mark.parametrize("style", ["relative", "urn"])
@pytest.mark.parametrize("key", ["subject", "partOf"])
def test_a_plain_reference_is_what_target_gives(
    closed: bool, style: ReferenceStyle, key: str
) -> None:
    element = _Element(key)
    for listed in (False, True):
        for text in TEXTS:
            expected = _straight(_map(closed), style, text, listed)
            minimiser = TextMinimiser(_map(closed), style)
            try:
                done = minimiser._plain("Observation", "o1", element, (text, listed))
            except OutputError as error:
                assert expected == ("error", str(error)), text
                continue
            if expected is None:
                assert done == (None, None), text
                continue
            assert done[0] == f'"{key}":{expected}', text
            if key == "subject":  # names the Patient: its value for the Bundles' grouping
                value = {"reference": done[0].split('"reference":"')[1].split('"')[0]}
                assert done[1] == ([value] if listed else value)


def test_a_part_map_answers_as_the_whole_map() -> None:
    whole = _map(True)
    part = PartReferenceMap(ResourceIds(SALT), closed=True, absent={"Procedure/x9"})
    part.add_patient(["Patient/p1"], "pseudo-1")
    part.add_keys(["Procedure/x1"])
    part.current = "Observation/o1"
    element = _Element("partOf")
    for text in ("Patient/p1", "Procedure/x1", "Procedure/x9"):
        got = TextMinimiser(part, "relative")._plain("Observation", "o1", element, (text, True))
        assert got == TextMinimiser(whole, "relative")._plain(
            "Observation", "o1", element, (text, True)
        )


def test_targets_and_members_are_answered_without_the_general_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []
    target = minimise._Minimiser.target
    monkeypatch.setattr(
        minimise._Minimiser, "target", lambda self, text: asked.append(text) or target(self, text)
    )
    minimiser = TextMinimiser(_map(True), "relative")
    element = _Element("subject")
    for text in ("Patient/p1", "urn:uuid:patient-1", "Procedure/x1", "Encounter/e1", "#a/b"):
        minimiser._plain("Observation", "o1", element, (text, False))
    assert asked == ["Encounter/e1", "#a/b"]  # not held, and local: the general lookup
