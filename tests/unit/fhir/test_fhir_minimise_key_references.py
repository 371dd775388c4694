"""References that are their own key, resolved at once: what the map's general lookup gives.

Decision 0511: ``_Minimiser.target`` answers a reference written as ``Type/id`` from the
map's targets and members directly, and a closed map's sure miss at once, instead of the
general lookup (``ReferenceMap.resolve``, then what is done with a reference the map does
not hold). ``TextMinimiser`` finds plain reference elements with one regular expression.
Pinned against the straightforward versions, written out here as they were: every
reference text of an awkward pool, in whole and part maps, open and closed, both styles,
errors alike; and the element test on random byte strings of the same parts.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pyarrow as pa
import pytest

from aanlevering.errors import OutputError
from aanlevering.fhir import minimise
from aanlevering.fhir.ids import ResourceIds
from aanlevering.fhir.minimise import (
    DROPPED_REFERENCE_TYPES,
    SHARED_TYPES,
    PartReferenceMap,
    ReferenceMap,
    ReferenceStyle,
    UnsureReference,
    _key,
    _Minimiser,
    _plain_reference,
    render,
)

SALT = b"key references test: 32 byte salt"
MEMBERS = ("Observation/o1", "Procedure/p1", "Procedure/p/2", "Encounter/e1", "Condition/c 1")
PATIENTS = ("p1", "p2")
REFERENCES = (
    *MEMBERS,
    *(f"Patient/{p}" for p in (*PATIENTS, "p3")),
    "Patient/",
    "Observation/o9",
    "Encounter/e9",
    "Practitioner/d1",
    "Organization/org",
    "RelatedPerson/r1",
    "Group/g1",
    "Procedure/p1/_history/2",
    "Procedure/p1?x=1",
    "Observation/o1/",
    "https://ehr.example/fhir/Observation/o1",
    "https://ehr.example/fhir/Patient/p1",
    "urn:uuid:patient-0",
    "urn:uuid:unknown",
    "#c1",
    "#nowhere",
    "Observation/_history",
    "/o1",
    "Observation/",
    "nothing",
    "",
    "Patient/p1/",
    "Procedure/p",
    "Procedure/p/2/_history/1",
)


def _straightforward(minimiser: _Minimiser, text: str) -> str | None:
    """``_Minimiser.target`` as it was: the general lookup, then the rules for a miss."""
    if text.startswith("#"):
        local = minimiser.local_ids
        return f"#{local[text[1:]]}" if text[1:] in local else None
    resolved = minimiser.references.resolve(text)
    if resolved is not None:
        return render(resolved[0], resolved[1], minimiser.style)
    key = _key(text)
    if "/" not in key:
        return None
    resource_type, source_id = key.split("/", 1)
    if resource_type == "Patient":
        raise OutputError(
            f"{minimiser.where} references a Patient that is not in this delivery "
            "(register it with ReferenceMap.add_patient)"
        )
    if minimiser.references.closed or resource_type in DROPPED_REFERENCE_TYPES:
        return None
    if resource_type in SHARED_TYPES:
        return key
    return f"{resource_type}/{minimiser.references.keyed(resource_type, source_id)}"


def _whole(closed: bool) -> ReferenceMap:
    references = ReferenceMap(ResourceIds(SALT), closed=closed)
    for n, patient in enumerate(PATIENTS):
        references.add_patient([f"Patient/{patient}", f"urn:uuid:patient-{n}"], f"pseudo-{n}")
    references.add_keys(MEMBERS)
    return references


def _part(closed: bool, wanted: set[str], complete: bool) -> PartReferenceMap:
    """A part map holding the whole map's entries for ``wanted`` (as ``part_map`` fills it)."""
    whole = _whole(closed)
    targets = whole.targets()
    absent = {text for text in wanted if whole._member_or_target(text) is None}

    def made_whole(part: PartReferenceMap) -> None:
        part.add_keys(MEMBERS)
        part.add_targets(targets)

    part = PartReferenceMap(ResourceIds(SALT), closed, absent, made_whole if complete else None)
    part.add_keys([key for key in MEMBERS if key in wanted])
    kept = targets.filter(pa.array([text in wanted for text in targets.column(0).to_pylist()]))
    part.add_targets(kept)
    return part


def _answer(minimiser: _Minimiser, text: str, target: Any) -> tuple[Any, ...]:
    try:
        return ("target", target(minimiser, text))
    except OutputError as error:
        return ("error", str(error))
    except UnsureReference:
        return ("unsure",)


@pytest.mark.parametrize("closed", [True, False])
@pytest.mark.parametrize("style", ["relative", "urn"])
def test_every_reference_resolves_as_the_general_lookup_in_a_whole_map(
    closed: bool, style: ReferenceStyle
) -> None:
    fast = _Minimiser(_whole(closed), style, "Observation x", {"c1": "c1"})
    straight = _Minimiser(_whole(closed), style, "Observation x", {"c1": "c1"})
    assert fast.references.misses("Encounter/e9")  # a whole map's miss is sure
    answers = [
        (_answer(fast, text, _Minimiser.target), _answer(straight, text, _straightforward))
        for text in REFERENCES
    ]
    assert all(mine == theirs for mine, theirs in answers), answers
    kinds = {mine[0] for mine, _ in answers}
    assert kinds == {"target", "error"}  # found, removed and refused all among them
    assert sum(1 for mine, _ in answers if mine == ("target", None)) >= 3


@pytest.mark.parametrize("closed", [True, False])
@pytest.mark.parametrize("complete", [True, False])
def test_every_reference_resolves_as_the_general_lookup_in_a_part_map(
    closed: bool, complete: bool
) -> None:
    """A part map answers a miss at once only when the whole map misses it too; other misses
    stay its own (made whole, or unsure)."""
    rng = random.Random(f"part-{closed}-{complete}")
    seen_sure: set[str] = set()
    for _ in range(20):
        wanted = {text for text in REFERENCES if rng.random() < 0.6}
        fast = _Minimiser(_part(closed, wanted, complete), "relative", "Procedure y", {})
        straight = _Minimiser(_part(closed, wanted, complete), "relative", "Procedure y", {})
        part = fast.references
        assert isinstance(part, PartReferenceMap)
        # Answered at once only where the whole map misses too (absent), in a closed map.
        own_keys = [t for t in REFERENCES if _own_key_form(t) and not t.startswith("Patient/")]
        sure = {t for t in own_keys if fast.own_key(t) is None}
        assert sure == ({t for t in own_keys if t in part._absent} if closed else set())
        seen_sure |= sure
        for text in rng.sample(REFERENCES, len(REFERENCES)):
            assert _answer(fast, text, _Minimiser.target) == _answer(
                straight, text, _straightforward
            ), text
    assert len(seen_sure) >= (5 if closed else 0)


def _own_key_form(text: str) -> bool:
    """Written as its own key: what ``target`` asks ``own_key`` about."""
    return (
        text.count("/") == 1
        and not text.endswith("/")
        and "?" not in text
        and "_history" not in text
        and not text.startswith("#")
    )


def _plain_straightforward(member: bytes) -> tuple[str, bool] | None:
    """``_plain_reference`` as it was: prefix and suffix tests."""
    if member.startswith(b'{"reference":"') and member.endswith(b'"}'):
        inner, in_list = member[14:-2], False
    elif member.startswith(b'[{"reference":"') and member.endswith(b'"}]'):
        inner, in_list = member[15:-3], True
    else:
        return None
    if not inner or b'"' in inner or b"\\" in inner:
        return None
    return inner.decode("utf-8"), in_list


_PIECES = (
    b"[",
    b"]",
    b"{",
    b"}",
    b'"',
    b'{"reference":"',
    b'"}',
    b'"}]',
    b"\\",
    b'\\"',
    b"Patient/p1",
    "é/ü".encode(),
    b"\n",
    b'","type":"Patient',
    b"/",
    b"",
)


def test_the_plain_reference_test_is_the_prefix_and_suffix_tests() -> None:
    rng = random.Random("plain")
    members = [b"".join(p) for p in itertools.product(_PIECES[:8], repeat=3)]
    members += [
        b"".join(rng.choice(_PIECES) for _ in range(rng.randrange(1, 8))) for _ in range(9_000)
    ]
    # Near misses of the two forms: each opening with each text and each closing.
    openings = (b'{"reference":"', b'[{"reference":"', b'{"reference": "', b'[{"reference":"[')
    closings = (b'"}', b'"}]', b'"} ', b'"]}', b'"}]]', b"}")
    texts = (b"Patient/p1", "é/ü".encode(), b"", b"a\\b", b'a"b', b"a\nb", b"#c1", b" ")
    members += [o + t + c for o in openings for t in texts for c in closings]
    members += [
        b'{"reference":"Patient/p1"}',
        b'[{"reference":"Procedure/p1"}]',
        b'[{"reference":"Procedure/p1"}',
        b'{"reference":"Procedure/p1"}]',
        b'{"reference":""}',
        b'[{"reference":"a"},{"reference":"b"}]',
        b'{"reference":"x\\"y"}',
    ]
    found = [(_plain_reference(m), _plain_straightforward(m)) for m in members]
    assert all(mine == theirs for mine, theirs in found)
    assert sum(1 for mine, _ in found if mine is not None and mine[1]) >= 10
    assert sum(1 for mine, _ in found if mine is not None and not mine[1]) >= 10


def test_the_minimiser_module_keeps_the_general_lookup_for_odd_references() -> None:
    """Not its own key: the fast answer is never asked (the general lookup normalises it)."""
    asked: list[str] = []
    minimiser = _Minimiser(_whole(True), "relative", "Observation x", {})
    own = minimiser.own_key

    def counted(key: str) -> str | object | None:
        asked.append(key)
        return own(key)

    minimiser.own_key = counted  # type: ignore[method-assign]
    for text in REFERENCES:
        _answer(minimiser, text, _Minimiser.target)
    assert set(asked) == {text for text in REFERENCES if _own_key_form(text)}
    assert "Procedure/p1" in asked and "Procedure/p1?x=1" not in asked
    assert minimise._ASK is not None
