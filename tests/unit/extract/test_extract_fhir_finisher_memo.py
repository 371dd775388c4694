"""The streaming reader's finisher remembers answers per value, and equals the plain one (0990).

``_finisher`` looks up what it gave a short text or number before instead of
mapping and converting it again. Here it is compared with
:func:`finisher_reference` (the plain map-convert-keep-text) on random values of
every variable type, each value met several times so that remembered answers are
used: equal results, equal types (``True``, ``1`` and ``1.0`` are equal keys in a
dict but not the same value), and ``-0.0`` written as itself. The memory stays
bounded on ever new values.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.extract import fhir_stream
from aanlevering.extract.fhir_stream import VariableSpec, _finisher, finisher_reference
from aanlevering.extract.fhirpath import compile_path

TYPES = ("string", "code", "integer", "decimal", "date", "datetime", "boolean")

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 10**18 - 1, 10**18, -(10**18)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 1.5, -1.0, 24.3, float("nan")]),
    st.sampled_from(
        [
            "",
            " ",
            "male",
            "MALE",
            " female ",
            "true",
            "1",
            "1.0",
            " 7 ",
            "2026-12-15",
            "2026-12-15T08:30:00+01:00",
            "2026-03-29T02:30:00+02:00",
            "2026-10-25T23:30:00Z",
            "2026-02-30",
            "x" * 64,
            "y" * 65,
        ]
    ),
    st.text(max_size=80),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _variable(type_name: str, mapped: bool, raw_text: bool) -> VariableSpec:
    value_map = {"male": "M", "female": "V", "true": "J", "1": "een", "7": "zeven"}
    return VariableSpec(
        "v",
        type_name,
        compile_path("gender"),
        None,
        "subject",
        None,
        value_map if mapped else None,
        raw_text,
    )


def _shown(result: tuple[Any, ...]) -> list[tuple[type, str]]:
    """Each part of a result with its exact type and its text (``-0.0`` is not ``0.0``)."""
    shown = []
    for part in result:
        if isinstance(part, float) and math.isnan(part):
            shown.append((float, "nan"))
        else:
            shown.append((type(part), repr(part)))
    return shown


@settings(max_examples=200, deadline=None)
@given(
    type_name=st.sampled_from(TYPES),
    mapped=st.booleans(),
    raw_text=st.booleans(),
    values=st.lists(VALUES, min_size=1, max_size=30),
)
def test_the_remembering_finisher_equals_the_plain_one(
    type_name: str, mapped: bool, raw_text: bool, values: list[Any]
) -> None:
    variable = _variable(type_name, mapped, raw_text)
    remembering, plain = _finisher(variable), finisher_reference(variable)
    # Every value three times, in a shuffled order: the later ones meet remembered answers.
    sequence = values * 3
    random.Random(len(values)).shuffle(sequence)
    for value in sequence:
        assert _shown(remembering(value)) == _shown(plain(value)), value


@pytest.mark.parametrize("type_name", TYPES)
def test_equal_keys_of_other_types_or_signs_get_their_own_answers(type_name: str) -> None:
    """``True``/``1``/``1.0`` and ``0.0``/``-0.0`` are one dict key each: never one answer."""
    variable = _variable(type_name, True, True)
    remembering, plain = _finisher(variable), finisher_reference(variable)
    for value in [True, 1, 1.0, "1", False, 0, 0.0, -0.0, 0, -0.0, 1.0, True, "true", 1]:
        assert _shown(remembering(value)) == _shown(plain(value)), value


def test_the_memory_is_bounded_and_ever_new_values_are_still_converted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fhir_stream, "_MAX_FINISHED", 5)
    variable = _variable("date", False, True)
    remembering, plain = _finisher(variable), finisher_reference(variable)
    texts = [f"2026-01-{day:02d}" for day in range(1, 29)] + ["z" * 100] * 3
    for text in texts * 2:
        assert _shown(remembering(text)) == _shown(plain(text))
    memos = remembering.__closure__  # the per-type memories the closure holds
    assert memos is not None
    held = [
        cell.cell_contents
        for cell in memos
        if isinstance(cell.cell_contents, dict) and str in cell.cell_contents
    ]
    assert len(held) == 1
    assert all(len(memo) <= 5 for memo in held[0].values())
    assert len(held[0][str]) == 5
