"""The pseudonymisation stage's columnar result holds what the per-person path gave.

The stage hands the output a :class:`PseudonymTable` built from the TTP's
answer columns; the per-person objects of ``support.pseudonyms.patient_pseudonyms``
were the result before. Both are made here from the same TTP answers (the
TTP's temporary pseudonyms are deterministic for the same inputs), for people
with failing types.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.events.sqlite import SqliteEventStore
from aanlevering.pseudonym.normalise import get_profile
from aanlevering.pseudonym.service import pseudonymise, unique_patients
from aanlevering.pseudonym.source_step import MrnKey, SourceKey, apply_source_step
from aanlevering.pseudonym.ttp.models import inputs_from_columns
from support.pseudonyms import patient_pseudonyms
from support.ttp import TTPSetup

REPO = Path(__file__).resolve().parents[3]
PEOPLE = 300


def _identity() -> pa.Table:
    rows = range(PEOPLE)
    return pa.table(
        {
            "patient_id": [f"P{i:05d}" for i in rows],
            "mrn": [f"M-{i:06d}" if i % 97 else None for i in rows],
            "own_prefix": ["van" if i % 5 == 0 else None for i in rows],
            "own_name": [f"Naam{i}" if i % 11 else None for i in rows],
            "initials": ["J." for _ in rows],
            "birth_date": [date(1940 + i % 60, 1 + i % 12, 1 + i % 28) for i in rows],
            "sex": ["M" if i % 2 else "V" for i in rows],
            "postcode": [f"{1000 + i}AB" if i % 13 else None for i in rows],
        }
    )


@pytest.mark.parametrize("batch_size", [5000, 7])
def test_table_matches_the_per_person_result(
    ttp: TTPSetup, tmp_path: Path, batch_size: int
) -> None:
    """With batches of 7 the run is done in chunks of 70 patients (CHUNK_BATCHES = 10)."""
    config = load_catalogue(REPO / "schemas" / "catalogue").get("dica-dsaa")
    source_key = SourceKey("dica-dsaa", 1, bytes(range(64)))
    mrn_key = MrnKey(1, bytes(64))
    identity = _identity()
    store = SqliteEventStore(tmp_path / "events.sqlite")
    client = ttp.client("demo-hospital", batch_size=batch_size)
    outcome = pseudonymise(
        config,
        "2026",
        identity,
        client=client,
        source_key=source_key,
        mrn_key=mrn_key,
        patient_ref=lambda mrn: "ref",
        store=store,
        run_id=f"table-stage-{batch_size}",
    )

    patients = unique_patients(identity)
    columns = {n: patients.column(n).to_pylist() for n in patients.column_names}
    columns["mrn"] = [m or p for m, p in zip(columns["mrn"], columns["patient_id"], strict=True)]
    profile = get_profile("nl-2026.1")
    canonical = profile.normalise_columns(columns, config.pseudonymisation.types)
    batch = apply_source_step(canonical, source_key, mrn_key)
    located = [f for f in canonical.failures if f.row is not None]
    refs = [f"r{row}" for row in range(batch.num_rows)]
    old = client.temporary_pseudonyms(
        "dica-dsaa",
        inputs_from_columns(batch, refs),
        run_id=f"table-stage-old-{batch_size}",
        profile_version=batch.profile_version,
    )
    expected = {
        p.patient_id: p
        for p in patient_pseudonyms(
            old, dict(zip(refs, columns["patient_id"], strict=True)), batch.profile_version
        )
    }
    table = outcome.by_patient
    assert len(table) == len(expected) > 0
    assert set(table) == set(expected)
    for patient, person in expected.items():
        got = table[patient]
        assert {p.type: p for p in got.pseudonyms} == {p.type: p for p in person.pseudonyms}
    missing_rgg = [p for p, person in expected.items() if len(person.pseudonyms) < 3]
    assert missing_rgg, "the generated people include some with a failing type"
    event = outcome.event
    assert event.patients == PEOPLE
    assert event.type_counts == dict(old.type_counts)
    assert len(event.batch_ids) == len(old.batches) == len(set(event.batch_ids))
    assert event.patients_without_pseudonym == PEOPLE - len(expected)
    counts: dict[str, int] = {}
    for failure in located:
        counts[str(failure.type)] = counts.get(str(failure.type), 0) + 1
    assert event.failures_by_type == counts and list(counts) == list(event.failures_by_type)
    assert [(f.type, f.field, f.reason) for f in event.failures] == [
        (str(f.type), f.field, f.reason) for f in located
    ]
    assert list(table) == [p for p in columns["patient_id"] if p in expected]
