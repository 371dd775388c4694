"""The patient references a delivery recorded: distinct, sorted, from Arrow columns."""

from __future__ import annotations

import random

import pyarrow as pa

from aanlevering.pipeline.operations import delivered_patient_refs


def test_same_refs_as_a_python_set_sorted() -> None:
    rng = random.Random(7)
    pool = [f"pr_{rng.getrandbits(128):032x}" for _ in range(2000)]
    refs = {
        "operaties": pa.array(rng.choices(pool, k=3000)),
        "complicaties": pa.chunked_array([pa.array(rng.choices(pool, k=500)), pa.array(pool[:3])]),
        "leeg": pa.array([], pa.string()),
    }
    expected = sorted({r for a in refs.values() for r in a.to_pylist()})
    assert delivered_patient_refs(refs) == expected
    assert len(expected) > 1000


def test_no_datasets_no_refs() -> None:
    assert delivered_patient_refs({}) == []
    assert delivered_patient_refs({"x": pa.array([], pa.string())}) == []
