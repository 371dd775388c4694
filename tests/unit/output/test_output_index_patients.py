"""Resolving delivered patients column-wise gives what the row-by-row loop gave.

The reference below is the loop ``index_patients`` had before it worked on
columns: row by row, dataset by dataset, first value of each generalised form
wins. Both run on deliveries whose form columns have gaps, unusable values and
different values for one person.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import pyarrow as pa
import pytest

from aanlevering.errors import OutputError
from aanlevering.fhir.generalised import NO_FORMS, GeneralisedForms, generalised_variables
from aanlevering.fhir.patient import PATIENT_KIND
from aanlevering.output.content import DeliveryInput, PatientIndex, index_patients
from aanlevering.pseudonym.model import PseudonymTable


def _row_by_row(content: DeliveryInput) -> PatientIndex:
    generalised = generalised_variables(content.context.dictionary)
    kinds = generalised.kinds
    delivered: dict[str, str] = {}
    forms: dict[str, GeneralisedForms] = {}
    row_patients: dict[str, list[str]] = {}
    complete: set[str] = set()
    for name in content.dataset_names():
        dataset = content.datasets[name]
        patients = [str(p) for p in dataset.identity.column("patient_id").to_pylist()]
        row_patients[name] = patients
        wanted = generalised.by_dataset.get(name, {})
        columns = {
            v: dataset.clinical.column(v).to_pylist()
            for v in wanted.values()
            if v in dataset.clinical.column_names
        }
        for index, patient in enumerate(patients):
            if patient not in delivered:
                delivered[patient] = content.context.ids.make(PATIENT_KIND, patient)
            if columns and patient not in complete:
                row = {variable: values[index] for variable, values in columns.items()}
                found = forms.get(patient, NO_FORMS).merged(generalised.forms(name, row))
                forms[patient] = found
                if found.complete(kinds):
                    complete.add(patient)
    return PatientIndex(delivered, forms, row_patients)


def _shuffled_forms(content: DeliveryInput, seed: int) -> DeliveryInput:
    rng = random.Random(seed)
    generalised = generalised_variables(content.context.dictionary)
    datasets = dict(content.datasets)
    for name, wanted in generalised.by_dataset.items():
        dataset = datasets[name]
        clinical = dataset.clinical
        for variable in wanted.values():
            column = clinical.column(variable)
            values = column.to_pylist()
            choices = [v for v in values if v is not None] + [None]
            if pa.types.is_integer(column.type):
                choices += [1850, 2999]  # unusable years
            else:
                choices += ["0123", "12"]  # unusable postcodes
            values = [rng.choice(choices) if rng.random() < 0.6 else v for v in values]
            position = clinical.column_names.index(variable)
            clinical = clinical.set_column(position, variable, pa.array(values, column.type))
        datasets[name] = replace(dataset, clinical=clinical)
    return replace(content, datasets=datasets)


@pytest.mark.parametrize("registration", ["ldtr", "dica-dsaa", "nkr-borst"])
def test_same_index_as_row_by_row(
    delivery: Callable[..., DeliveryInput], registration: str
) -> None:
    base = delivery(registration, records_per_person=4)
    for seed in range(6):
        content = _shuffled_forms(base, seed)
        expected = _row_by_row(content)
        for pseudonyms in (
            content.pseudonyms,
            PseudonymTable.from_patients(content.pseudonyms.values()),
        ):
            got = index_patients(replace(content, pseudonyms=pseudonyms))
            assert got.delivered_ids == expected.delivered_ids
            assert list(got.delivered_ids) == list(expected.delivered_ids)
            assert got.row_patients == expected.row_patients
            assert {p: f for p, f in got.forms.items() if f != NO_FORMS} == {
                p: f for p, f in expected.forms.items() if f != NO_FORMS
            }


def test_first_record_without_pseudonyms_is_named(delivery: Callable[..., DeliveryInput]) -> None:
    content = delivery("dica-dsaa")
    dropped = sorted(content.pseudonyms)[1]
    people = {p: v for p, v in content.pseudonyms.items() if p != dropped}
    first = content.context.dictionary.datasets[0].name
    dataset = content.datasets[first]
    row = dataset.identity.column("patient_id").to_pylist().index(dropped)
    ref = dataset.row_refs[row].as_py()
    for pseudonyms in (people, PseudonymTable.from_patients(people.values())):
        with pytest.raises(OutputError) as raised:
            index_patients(replace(content, pseudonyms=pseudonyms))
        assert str(raised.value).startswith(f"dataset {first}, row {ref}: the patient of this")
        assert dropped not in str(raised.value)


def test_ordered_columns_are_the_ordered_pairs() -> None:
    """The Arrow sort the writers use gives :meth:`PatientIndex.ordered`'s order."""
    rng = random.Random(7)
    delivered = {
        f"p{n}": "".join(rng.choice("0123456789abcdef-") for _ in range(36)) for n in range(2000)
    }
    index = PatientIndex(delivered_ids=delivered, forms={}, row_patients={})
    ids, sources = index.ordered_columns()
    assert list(zip(ids.to_pylist(), sources.to_pylist(), strict=True)) == index.ordered()
