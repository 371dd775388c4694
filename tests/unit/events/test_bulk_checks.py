"""Bulk forms of the per-value checks on event payloads give the same answers."""

from __future__ import annotations

import random

import pytest

from aanlevering.errors import EventStoreError
from aanlevering.events.guard import check_no_identifiers
from aanlevering.optout.deliveries import delivery_contents_events
from aanlevering.pseudonym.patient_ref import all_patient_refs, is_patient_ref

REF = "pr_" + "0123456789abcdef" * 2


def _refs(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"pr_{rng.getrandbits(128):032x}" for _ in range(count)]


@pytest.mark.parametrize(
    "values",
    [
        [],
        [REF],
        _refs(500, 1),
        [*_refs(3, 2), "pr_XYZ"],
        [REF + "\n" + REF],
        [REF + "\n"],
        [REF, "123456782"],
        ["", REF],
        [REF, REF + "\n"],
        [REF, "\n" + REF],
    ],
)
def test_all_patient_refs_is_every_is_patient_ref(values: list[str]) -> None:
    assert all_patient_refs(values) == all(is_patient_ref(v) for v in values)


def _per_item(values: list[str]) -> str | None:
    for index, value in enumerate(values):
        try:
            check_no_identifiers(value, f"x[{index}]")
        except EventStoreError as error:
            return str(error)
    return None


@pytest.mark.parametrize(
    "values",
    [
        _refs(300, 3),
        ["a", "1234.56.782", "b"],  # a BSN written with dots
        ["total 0.123456782"],  # a decimal fraction: not a token
        ["abc", "123456782"],
        ["12345678", "2"],  # split over two strings: no BSN
        ["999999999"],  # nine digits failing the eleven-test
        ["x\n123456782"],
    ],
)
def test_guard_on_a_list_names_the_same_item(values: list[str]) -> None:
    expected = _per_item(values)
    if expected is None:
        check_no_identifiers(values, "x")
    else:
        with pytest.raises(EventStoreError) as raised:
            check_no_identifiers(values, "x")
        assert str(raised.value) == expected


def test_contents_events_same_for_sorted_and_unsorted_input() -> None:
    refs = _refs(2000, 4)
    shuffled = [*refs, *refs[:50]]
    random.Random(5).shuffle(shuffled)
    sorted_events = delivery_contents_events("ldtr", "2026-03", 1, sorted(refs), part_size=300)
    shuffled_events = delivery_contents_events("ldtr", "2026-03", 1, shuffled, part_size=300)
    assert [(e.event_id, e.part, e.parts, e.patient_refs) for e in sorted_events] == [
        (e.event_id, e.part, e.parts, e.patient_refs) for e in shuffled_events
    ]
    assert [len(e.patient_refs) for e in sorted_events] == [300] * 6 + [200]
    with pytest.raises(EventStoreError, match="patient references"):
        delivery_contents_events("ldtr", "2026-03", 1, [*refs[:3], "123456782"])
