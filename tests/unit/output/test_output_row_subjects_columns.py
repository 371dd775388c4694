"""Each record's subject taken in Arrow is the dict lookup it replaced (decision 0892).

The records' subjects (``Patient/<delivered id>``) were one lookup per record in
``index.delivered_ids``; now the positions of the rows' patients among the delivered
patients are found once per dataset and the ids taken per batch. Pinned: the same ids
for every dataset of three registrations (with and without FHIR sources), rows in
random patient order, for the NDJSON batches in row order and the Bundles' records in
patient order.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pyarrow as pa
import pytest

from aanlevering.fhir.validate import SamplePolicy
from aanlevering.output.content import DeliveryInput, index_patients
from aanlevering.output.fhir_records import RecordEncoder
from aanlevering.output.fhir_stream import FhirStream

NO_SAMPLES = SamplePolicy(head=0, every=10**9)


def _shuffled(content: DeliveryInput, seed: int) -> DeliveryInput:
    """The same records, each dataset's rows in a random order (patients interleaved)."""
    rng = random.Random(seed)
    datasets = {}
    for name, dataset in content.datasets.items():
        order = list(range(dataset.num_rows))
        rng.shuffle(order)
        taken = pa.array(order, pa.int64())
        datasets[name] = type(dataset)(
            name,
            dataset.clinical.take(taken),
            dataset.identity.take(taken),
            dataset.row_refs.take(taken),
        )
    return DeliveryInput(
        content.context,
        datasets,
        content.pseudonyms,
        content.source_patients,
        content.source_resources,
    )


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
@pytest.mark.parametrize("fhir_source", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_subjects_are_the_lookups_they_replaced(
    delivery: Callable[..., DeliveryInput], registration: str, fhir_source: bool, seed: int
) -> None:
    content = _shuffled(delivery(registration, fhir_source=fhir_source, records_per_person=3), seed)
    index = index_patients(content)
    stream = FhirStream(content, NO_SAMPLES, "relative")
    for name, patients in index.row_patients.items():
        expected = [index.delivered_ids[p] for p in patients]
        assert index.subjects(index.row_positions(name)).to_pylist() == expected
        batches = list(stream.record_batches(name))
        assert [s for b in batches for s in b.patients.to_pylist()] == expected
        lines = [line for b in batches for line in b.lines.to_pylist()]
        assert all(f'"Patient/{s}"' in line for s, line in zip(expected, lines, strict=True))
    # Bundles: records in patient order, each with its own patient.
    by_record = {}
    for name, patients in index.row_patients.items():
        kind = RecordEncoder(content.context, content.context.dictionary.dataset(name)).kind
        refs = [str(r) for r in content.datasets[name].row_refs.to_pylist()]
        ids = content.context.ids.column(kind, refs).to_pylist()
        by_record.update(zip(ids, (index.delivered_ids[p] for p in patients), strict=True))
    records = list(stream.records_by_patient())
    assert len(records) == len(by_record)
    assert all(item.patient == by_record[item.id] for item in records)
    assert [item.patient for item in records] == sorted(item.patient or "" for item in records)
