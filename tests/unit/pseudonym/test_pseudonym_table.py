"""The columnar pseudonym table behaves as the per-person mapping it replaces."""

from __future__ import annotations

import pyarrow as pa
import pytest

from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym, PseudonymTable
from aanlevering.pseudonym_types import PseudonymType

NGGV, MRN = PseudonymType("NGGV"), PseudonymType("MRN")


def _people() -> list[PatientPseudonyms]:
    return [
        PatientPseudonyms(
            "p1",
            (
                Pseudonym(NGGV, "T1:NGGV:v1:aaa", 1, True, "nl-2026.1"),
                Pseudonym(MRN, "MRN:v1:bbb", 1, False, "nl-2026.1"),
            ),
        ),
        PatientPseudonyms("p2", (Pseudonym(MRN, "MRN:v2:ccc", 2, False, "nl-2026.1"),)),
        PatientPseudonyms("p3", ()),
    ]


def test_round_trip_through_columns_gives_the_same_people() -> None:
    people = _people()
    table = PseudonymTable.from_patients(people)
    assert list(table) == ["p1", "p2", "p3"]
    assert len(table) == 3
    assert table.types == (NGGV, MRN)
    for person in people:
        assert table[person.patient_id] == person
    assert "p4" not in table
    with pytest.raises(KeyError):
        table["p4"]


def test_rows_of_and_take_follow_patient_numbers() -> None:
    table = PseudonymTable.from_patients(_people())
    rows = table.rows_of(pa.array(["p3", "p9", "p1"]))
    assert rows.to_pylist() == [2, None, 0]
    taken = table.take(pa.array([2, 0]))
    assert list(taken) == ["p3", "p1"]
    assert taken["p1"] == _people()[0]


def test_repr_shows_no_patient_numbers() -> None:
    table = PseudonymTable.from_patients(_people())
    assert "p1" not in repr(table)
    assert "patients=3" in repr(table)


def test_mixed_status_within_a_type_is_refused() -> None:
    people = [
        PatientPseudonyms("a", (Pseudonym(NGGV, "x", 1, True, "nl-2026.1"),)),
        PatientPseudonyms("b", (Pseudonym(NGGV, "y", 1, False, "nl-2026.1"),)),
    ]
    with pytest.raises(ValueError, match="differ in status or profile"):
        PseudonymTable.from_patients(people)


def test_columns_must_match_the_patients() -> None:
    table = PseudonymTable.from_patients(_people())
    column = table.columns[0]
    with pytest.raises(ValueError, match="for 2 patients"):
        PseudonymTable(pa.array(["a", "b"]), [column])


def test_duplicate_patient_numbers_are_refused_on_lookup() -> None:
    table = PseudonymTable(pa.array(["a", "a"]), [])
    with pytest.raises(ValueError, match="unique"):
        table["a"]


def test_concat_aligns_types_missing_from_a_chunk() -> None:
    people = _people()
    first = PseudonymTable.from_patients(people[1:2])  # MRN only
    second = PseudonymTable.from_patients([people[0], people[2]])  # NGGV and MRN
    joined = PseudonymTable.concat([first, second])
    assert list(joined) == ["p2", "p1", "p3"]
    assert set(joined.types) == {NGGV, MRN}
    for person in people:  # column order is first seen: compare by type
        got = joined[person.patient_id].pseudonyms
        assert {p.type: p for p in got} == {p.type: p for p in person.pseudonyms}
    assert PseudonymTable.concat([]).types == ()
