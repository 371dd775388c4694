"""Keeping every row of a dataset keeps its tables (no copy), which lets a run folder link them;
keeping some rows filters every table alike, as before."""

from __future__ import annotations

import pyarrow as pa

from aanlevering.extract.model import ExtractedDataset, TypeProblem
from aanlevering.pipeline.operations import _filter


def _dataset() -> ExtractedDataset:
    return ExtractedDataset(
        name="operatie",
        clinical=pa.table({"operatie_id": ["OK1", "OK2", "OK3"]}),
        identity=pa.table({"patient_id": ["P1", "P2", "P3"]}),
        row_refs=pa.array(["f:2", "f:3", "f:4"]),
        type_problems=(TypeProblem("f:3", "operatie_id", "text"),),
        source_files=("f",),
    )


def test_keeping_every_row_is_the_same_dataset() -> None:
    dataset = _dataset()
    assert _filter(dataset, pa.array([True, True, True])) is dataset


def test_keeping_some_rows_filters_every_table() -> None:
    kept = _filter(_dataset(), pa.array([True, False, True]))
    assert kept.clinical.column("operatie_id").to_pylist() == ["OK1", "OK3"]
    assert kept.identity.column("patient_id").to_pylist() == ["P1", "P3"]
    assert kept.row_refs.to_pylist() == ["f:2", "f:4"]
    assert kept.type_problems == ()
