"""A BSN column mapped onto a code variable stops the run before anything is written (0803).

The mapping ``BSN_NR: techniek`` passes the catalogue guard (the header is no
name it knows). 0603's check left code variables out (the holder's own option
sets), and the output guard only knows the run's own BSNs: with no BSN column in
the identity mapping (DSAA's pseudonyms need none), a code variable of
``severity: warning`` or without an option set went out holding BSNs in clear.
A code of the variable's own option set never counts.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.model import DataDictionary, Option
from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.guard import IdentifierInDelivery
from aanlevering.output.probable_bsns import probable_bsn_counts, refuse_probable_bsns

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"
BSN = "111222333"  # passes the eleven-test


@pytest.fixture(scope="module")
def dictionary() -> DataDictionary:
    return load_catalogue(CATALOGUE).get("dica-dsaa").dictionary


def _operaties(techniek: list[str | None]) -> ExtractedDataset:
    return ExtractedDataset(
        name="operatie",
        clinical=pa.table(
            {"operatie_id": [f"ok-{i}" for i in range(len(techniek))], "techniek": techniek}
        ),
        identity=pa.table({"patient_id": [f"p{i}" for i in range(len(techniek))]}),
        row_refs=pa.array([f"x.csv:{i + 2}" for i in range(len(techniek))]),
    )


def test_a_bsn_in_a_code_variable_stops_the_run_naming_the_variable(
    dictionary: DataDictionary,
) -> None:
    dataset = _operaties([BSN, "OPEN", "1112.22.333"])
    with pytest.raises(IdentifierInDelivery) as refused:
        refuse_probable_bsns("dica-dsaa", {"operatie": dataset}, dictionary)
    assert "operatie.techniek in 2 record(s)" in str(refused.value)
    assert BSN not in str(refused.value) and "1112.22.333" not in str(refused.value)


def test_a_code_of_the_option_set_never_counts(dictionary: DataDictionary) -> None:
    techniek = dictionary.option_sets["techniek"]
    widened = replace(techniek, options=(*techniek.options, Option(code=BSN, label="nine digits")))
    option_sets = {**dictionary.option_sets, "techniek": widened}
    assert (
        probable_bsn_counts(
            {"operatie": _operaties([BSN, "OPEN"])}, replace(dictionary, option_sets=option_sets)
        )
        == {}
    )
