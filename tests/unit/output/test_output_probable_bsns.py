"""Which delivered values count as a BSN that is not the run's own (decision 0603)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.model import DataDictionary
from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.guard import IdentifierInDelivery
from aanlevering.output.probable_bsns import probable_bsn_counts, refuse_probable_bsns

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"
OWN, PARTNER = "123456782", "111222333"  # both pass the eleven-test


@pytest.fixture(scope="module")
def dictionary() -> DataDictionary:
    return load_catalogue(CATALOGUE).get("dica-dsaa").dictionary


def _operaties(ids: list[str], bmi: list[float | None], bsn: list[str | None]) -> ExtractedDataset:
    clinical = pa.table({"operatie_id": ids, "bmi": pa.array(bmi, pa.float64())})
    return ExtractedDataset(
        name="operatie",
        clinical=clinical,
        identity=pa.table({"bsn": pa.array(bsn, pa.string())}),
        row_refs=pa.array([f"x.csv:{i + 2}" for i in range(len(ids))]),
    )


def test_another_persons_bsn_counts_and_the_runs_own_is_left_to_the_output_guard(
    dictionary: DataDictionary,
) -> None:
    dataset = _operaties(["a", "b", "c"], [float(OWN), float(PARTNER), 24.5], [OWN, OWN, OWN])
    assert probable_bsn_counts({"operatie": dataset}, dictionary) == {"operatie.bmi": 1}
    with pytest.raises(IdentifierInDelivery) as refused:
        refuse_probable_bsns("dica-dsaa", {"operatie": dataset}, dictionary)
    assert "operatie.bmi in 1 record(s)" in str(refused.value)
    assert PARTNER not in str(refused.value)


def test_key_variables_and_numbers_failing_the_test_do_not_count(
    dictionary: DataDictionary,
) -> None:
    """operatie_id goes out as a keyed hash; 123456789 fails the eleven-test."""
    dataset = _operaties([PARTNER, "b"], [123456789.0, None], [None, None])
    assert probable_bsn_counts({"operatie": dataset}, dictionary) == {}
    refuse_probable_bsns("dica-dsaa", {"operatie": dataset}, dictionary)
