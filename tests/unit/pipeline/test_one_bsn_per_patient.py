"""A patient number with two different valid BSNs is counted; one BSN written two ways is not.

The run stops on such a count (decision 1015, end to end in
``tests/e2e/test_one_patient_number_two_bsns.py``); here the forms a CSV export
writes: dots, spaces, a lost leading zero, an integer column, an invalid or
missing BSN next to a valid one, and the same person across two datasets.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from aanlevering.errors import ExtractError
from aanlevering.extract.model import ExtractedDataset
from aanlevering.pipeline.one_bsn_per_patient import (
    patients_with_two_bsns,
    refuse_two_bsns_per_patient,
)
from support.identity_extracts import identity_dataset
from support.identity_extracts import identity_extract as _extract

#: Valid BSNs (eleven-test), one with a leading zero.
A, B, ZERO = "999911120", "999911132", "012345672"


def _dataset(name: str, patients: list[str], bsns: pa.Array) -> ExtractedDataset:
    return identity_dataset(name, pa.table({"patient_id": pa.array(patients), "bsn": bsns}))


def test_one_bsn_in_its_written_forms_is_one_bsn() -> None:
    forms = pa.array([A, "9999.11.120", " 9999 11 120", ZERO, "12345672", "0123-45-672"])
    extract = _extract(_dataset("operatie", ["1", "1", "1", "2", "2", "2"], forms))
    assert patients_with_two_bsns(extract) == (0, ["operatie"])
    refuse_two_bsns_per_patient(extract)


def test_an_invalid_or_missing_bsn_next_to_a_valid_one_is_no_conflict() -> None:
    values = pa.array([A, "999911121", None, "", "abc"])
    extract = _extract(_dataset("operatie", ["1"] * 5, values))
    assert patients_with_two_bsns(extract)[0] == 0


def test_two_valid_bsns_of_one_number_are_counted_across_datasets_and_types() -> None:
    operations = _dataset("operatie", ["1", "2", "3"], pa.array([A, A, ZERO]))
    complications = _dataset("complicatie", ["1", "2", "3"], pa.array([int(B), int(A), 12345672]))
    extract = _extract(operations, complications)
    assert patients_with_two_bsns(extract) == (1, ["complicatie", "operatie"])
    with pytest.raises(ExtractError) as refused:
        refuse_two_bsns_per_patient(extract)
    message = str(refused.value)
    assert "1 patient number(s) carry two or more different valid BSNs" in message
    assert A not in message and B not in message and "12345672" not in message
