"""The patients' generalised forms taken in Arrow are the row-by-row loop's (decision 0894).

``first_forms`` replaces the loop ``index_patients`` had (kept as
``first_forms_reference``): per form kind the first value over the datasets in
order and their rows in order, every patient of a dataset with forms listed in
order of first row, and patients with the same forms sharing one object.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from aanlevering.fhir.generalised import BIRTH_YEAR, PC4, SEX, GeneralisedForms
from aanlevering.output.content import first_forms, first_forms_reference

_CHOICES = {
    BIRTH_YEAR: ["1950", "1961", "1987", "2001", ""],
    PC4: ["1012", "3511", "9999"],
    SEX: ["male", "female", "unknown", "other"],
}


def _rows(seed: int) -> list[tuple[list[str], dict[str, list[str | None]]]]:
    rng = random.Random(seed)
    people = [f"p{n:04d}" for n in range(rng.randint(1, 60))]
    rows = []
    for _ in range(rng.randint(1, 4)):  # datasets that carry forms, in dictionary order
        patients = [rng.choice(people) for _ in range(rng.randint(0, 120))]
        kinds = rng.sample(sorted(_CHOICES), rng.randint(1, 3))
        columns: dict[str, list[str | None]] = {
            kind: [rng.choice(_CHOICES[kind]) if rng.random() < 0.5 else None for _ in patients]
            for kind in kinds
        }
        rows.append((patients, columns))
    return rows


def _arrow(
    rows: list[tuple[list[str], dict[str, list[str | None]]]],
) -> list[tuple[pa.Array, dict[str, pa.Array]]]:
    return [
        (pa.array(p, pa.string()), {k: pa.array(v, pa.string()) for k, v in c.items()})
        for p, c in rows
    ]


@pytest.mark.parametrize("seed", range(40))
def test_same_forms_as_row_by_row(seed: int) -> None:
    rows = _rows(seed)
    expected = first_forms_reference(rows)
    got = first_forms(_arrow(rows))
    assert got == expected
    assert list(got) == list(expected)  # the same order: the patients' first rows


@pytest.mark.parametrize("seed", range(10))
def test_equal_forms_share_one_object(seed: int) -> None:
    got = first_forms(_arrow(_rows(seed)))
    by_value: dict[GeneralisedForms, GeneralisedForms] = {}
    for forms in got.values():
        assert by_value.setdefault(forms, forms) is forms


def test_no_dataset_with_forms_gives_none() -> None:
    assert first_forms([]) == first_forms_reference([]) == {}


def test_a_patient_without_any_value_has_empty_forms() -> None:
    rows: list[tuple[list[str], dict[str, list[str | None]]]] = [
        (["a", "b", "a"], {SEX: [None, "male", None], BIRTH_YEAR: [None, None, "1950"]}),
        (["c", "a"], {PC4: [None, "1012"], SEX: [None, "female"]}),
    ]
    got = first_forms(_arrow(rows))
    assert got == first_forms_reference(rows)
    assert got == {
        "a": GeneralisedForms("1950", "1012", "female"),
        "b": GeneralisedForms(None, None, "male"),
        "c": GeneralisedForms(None, None, None),
    }
