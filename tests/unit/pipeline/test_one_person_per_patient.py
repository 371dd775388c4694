"""A patient number whose rows differ in birth date, sex, birth name or MRN is counted (1018).

One value written two ways is one value (the profile's normalisation), and a
missing or invalid value next to a valid one is no conflict; postcode and
first names are not compared. End to end:
``tests/e2e/test_one_patient_number_two_bsns.py``.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from aanlevering.errors import ExtractError
from aanlevering.extract.model import ExtractedDataset
from aanlevering.pipeline.one_person_per_patient import (
    patients_with_two_persons,
    refuse_two_persons_per_patient,
)
from support.identity_extracts import identity_dataset
from support.identity_extracts import identity_extract as _extract


def _dataset(name: str, **columns: list[str | None]) -> ExtractedDataset:
    identity = pa.table({field: pa.array(values, pa.string()) for field, values in columns.items()})
    return identity_dataset(name, identity)


def test_one_person_written_two_ways_is_one_person() -> None:
    operations = _dataset(
        "operatie",
        patient_id=["1", "1", "1", "2"],
        birth_date=["31-01-1980", "1980-01-31", "31/01/1980", "02-02-1950"],
        sex=["M", "man", "1", "V"],
        own_name=["van den Berg", "Berg, van den", "BERG", "Jansen"],
        postcode=["1012 NX", "9999 ZZ", "1234 AB", "1012 NX"],
        given_names=["Jan", "Piet", None, "Els"],
    )
    extract = _extract(operations)
    assert patients_with_two_persons(extract) == (0, [], [])
    refuse_two_persons_per_patient(extract)


def test_a_missing_or_invalid_value_next_to_a_valid_one_is_no_conflict() -> None:
    operations = _dataset(
        "operatie",
        patient_id=["1", "1", "1"],
        birth_date=["31-01-1980", None, "31-02-1980"],
        sex=["F", "", "Q"],
        own_name=["Jansen", None, "---"],
    )
    assert patients_with_two_persons(_extract(operations))[0] == 0


def test_two_birth_dates_sexes_or_names_of_one_number_are_counted_across_datasets() -> None:
    operations = _dataset(
        "operatie",
        patient_id=["1", "2", "3", "4"],
        birth_date=["31-01-1980", "02-02-1950", "03-03-1960", "04-04-1970"],
        sex=["M", "F", "M", "F"],
        own_name=["Jansen", "Pietersen", "Bakker", "Visser"],
    )
    complications = _dataset(
        "complicatie",
        patient_id=["1", "2", "3", "4"],
        birth_date=["1980-01-30", "1950-02-02", "1960-03-03", "1970-04-04"],
        sex=["M", "M", "M", "F"],
        own_name=["Jansen", "Pietersen", "Bakkers", "Visser"],
    )
    extract = _extract(operations, complications)
    assert patients_with_two_persons(extract) == (
        3,
        ["birth_date", "sex", "own_name"],
        ["complicatie", "operatie"],
    )
    with pytest.raises(ExtractError) as refused:
        refuse_two_persons_per_patient(extract)
    message = str(refused.value)
    assert "3 patient number(s) carry two or more different values" in message
    assert "birth_date, sex, own_name" in message
    for value in ("1980", "30", "Bakker", "Jansen", "Pietersen"):
        assert value not in message


def test_one_patient_differing_in_two_fields_is_counted_once() -> None:
    operations = _dataset(
        "operatie",
        patient_id=["1", "1"],
        birth_date=["31-01-1980", "31-01-1981"],
        sex=["M", "F"],
    )
    assert patients_with_two_persons(_extract(operations)) == (
        1,
        ["birth_date", "sex"],
        ["operatie"],
    )


def test_two_mrns_of_one_patient_number_are_counted_one_mrn_two_ways_is_not() -> None:
    operations = _dataset(
        "operatie",
        patient_id=["1", "1", "2", "2"],
        mrn=["ab-0012345", " AB-0012345", "0012346", "0012347"],
    )
    assert patients_with_two_persons(_extract(operations)) == (1, ["mrn"], ["operatie"])
