"""The Arrow versions of the opt-out row work give what the plain per-row loops gave."""

from __future__ import annotations

import random
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from aanlevering.errors import AanleveringError, ExtractError
from aanlevering.extract.model import ExtractedDataset, TypeProblem
from aanlevering.optout.filter import MrnRefCache, patient_refs_for_mrns
from aanlevering.optout.sources import MrnHasher
from aanlevering.pipeline.operations import _filter
from aanlevering.pseudonym.patient_ref import PatientRefHasher


def _plain_refs(values: list[str | None], hash_mrn: MrnHasher) -> tuple[list[str], list[int]]:
    """The per-row loop the filter used to run: references and 1-based bad rows."""
    refs: list[str] = []
    bad: list[int] = []
    for index, mrn in enumerate(values):
        ref = ""
        if mrn is not None:
            try:
                ref = hash_mrn(mrn)
            except AanleveringError:
                ref = ""
        refs.append(ref)
        if not ref:
            bad.append(index + 1)
    return refs, bad


def _mrns(rng: random.Random, count: int) -> list[str | None]:
    pool = [f"MRN{n:06d}" for n in range(count // 3)] + ["12-34.56", "ab-123", "7/8_9"]
    return [rng.choice(pool) for _ in range(count)]


def test_refs_equal_the_per_row_loop_and_the_shared_cache_changes_nothing(
    hasher: PatientRefHasher, hash_mrn: MrnHasher
) -> None:
    rng = random.Random(7)
    first, second = _mrns(rng, 3000), _mrns(rng, 2000)
    second += [f"NEW{n}" for n in range(50)]  # MRNs the first dataset did not have
    known = MrnRefCache()
    got_first = patient_refs_for_mrns(pa.array(first, pa.string()), hasher, "a.csv", known)
    got_second = patient_refs_for_mrns(pa.chunked_array([second], pa.string()), hasher, "b", known)
    assert got_first.type == pa.string() and got_second.type == pa.string()
    assert got_first.to_pylist() == _plain_refs(first, hash_mrn)[0]
    assert got_second.to_pylist() == _plain_refs(second, hash_mrn)[0]
    again = patient_refs_for_mrns(pa.array(second, pa.string()), hasher, "c", known)
    assert again.equals(got_second)  # all from the cache now


def test_bad_rows_are_named_as_the_per_row_loop_named_them(
    hasher: PatientRefHasher, hash_mrn: MrnHasher
) -> None:
    rng = random.Random(11)
    values = _mrns(rng, 500)
    for row in rng.sample(range(500), 14):
        values[row] = rng.choice([None, "", "Jan de Vries", "x" * 80])
    _, bad = _plain_refs(values, hash_mrn)
    assert len(bad) == 14
    shown = ", ".join(str(row) for row in bad[:10]) + " ..."
    expected = (
        "patients.csv: 14 row(s) without a usable patient number (MRN), so opt-outs "
        f"can not be checked: rows {shown}"
    )
    with pytest.raises(ExtractError) as raised:
        patient_refs_for_mrns(values, hasher, "patients.csv")
    assert str(raised.value) == expected
    assert "Jan de Vries" not in str(raised.value)
    # A refused MRN the cache already holds is refused again, with the same rows.
    known = MrnRefCache()
    with pytest.raises(ExtractError):
        patient_refs_for_mrns(values, hasher, "patients.csv", known)
    with pytest.raises(ExtractError) as again:
        patient_refs_for_mrns(values, hasher, "patients.csv", known)
    assert str(again.value) == expected


def test_filter_keeps_the_problems_of_kept_rows_only() -> None:
    rng = random.Random(3)
    count = 4000
    row_refs = pa.array([f"ops.csv:{n + 2}" for n in range(count)])
    problems = (
        *(
            TypeProblem(f"ops.csv:{n + 2}", rng.choice(["gewicht", "datum"]), "integer")
            for n in sorted(rng.sample(range(count), 300))
        ),
        TypeProblem("ops.csv:2", "datum", "date"),  # a row may have two problems
    )
    dataset = ExtractedDataset(
        name="ops",
        clinical=pa.table({"n": pa.array(range(count), pa.int64())}),
        identity=pa.table({"mrn": pa.array([f"M{n}" for n in range(count)])}),
        row_refs=row_refs,
        type_problems=problems,
    )
    keep = pa.array([rng.random() < 0.7 for _ in range(count)], pa.bool_())
    kept_refs = set(pc.filter(row_refs, keep).to_pylist())
    expected = replace(
        dataset,
        clinical=dataset.clinical.filter(keep),
        identity=dataset.identity.filter(keep),
        row_refs=pc.filter(row_refs, keep),
        type_problems=tuple(p for p in problems if p.row_ref in kept_refs),
    )
    got = _filter(dataset, keep)
    assert got.type_problems == expected.type_problems
    assert 0 < len(got.type_problems) < len(problems)
    assert got.row_refs.equals(expected.row_refs)
    assert got.clinical.equals(expected.clinical) and got.identity.equals(expected.identity)
    assert _filter(replace(dataset, type_problems=()), keep).type_problems == ()
