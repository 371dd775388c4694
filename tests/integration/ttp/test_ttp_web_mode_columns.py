"""The column form of web mode (/pseudonyms/temporary/columns) against the real reference TTP.

It replaced the record form on the run's path, so it is pinned to it: the
same inputs give the same labels, over HTTP, with rows that lack a type and
batches split by the client; and the TTP refuses in columns what it refuses
in records.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from aanlevering.pseudonym.ttp.errors import TTPRefused
from aanlevering.pseudonym.ttp.models import PseudonymInputs
from support.ttp import Hospital, TTPSetup, digest


def _people(hospital: Hospital, count: int, seed: str) -> list[PseudonymInputs]:
    people = []
    for i in range(count):
        digests = {"NGGV": digest(f"NGGV|{seed}{i}"), "RGG": digest(f"RGG|{seed}{i}")}
        if i % 3 == 1:
            del digests["RGG"]  # a row that failed one type
        mrn = hospital.mrn_ciphertext(f"MRN-{seed}{i}") if i % 4 != 2 else None
        if i % 7 == 5:
            digests = {}  # only the MRN
            mrn = hospital.mrn_ciphertext(f"MRN-{seed}{i}")
        people.append(PseudonymInputs(f"r{i}", digests, mrn))
    return people


def _columns(people: list[PseudonymInputs]) -> tuple[dict[str, pa.Array], pa.Array]:
    digests = {
        code: pa.array([p.digests.get(code) for p in people], pa.string())
        for code in ("NGGV", "RGG")
    }
    return digests, pa.array([p.mrn_ciphertext for p in people], pa.string())


def test_columns_give_the_labels_of_the_record_form(ttp: TTPSetup, hospital_a: Hospital) -> None:
    people = _people(hospital_a, 23, "cols-")
    client = ttp.client("demo-hospital")
    client.batch_size = 5  # several batches, two in flight
    records = client.temporary_pseudonyms(
        "dica-dsaa", people, run_id="cols-records", profile_version="nl-2026.1"
    )
    digests, mrn = _columns(people)

    columns = client.temporary_columns(
        "dica-dsaa", digests, mrn, run_id="cols-columns", profile_version="nl-2026.1"
    )

    for code in ("NGGV", "RGG", "MRN"):
        expected = [records.pseudonyms[p.ref].get(code) for p in people]
        assert columns.labels[code].to_pylist() == expected, code
    assert columns.type_counts == records.type_counts
    assert columns.key_versions == records.key_versions == {1}
    assert [b.request_id for b in columns.batches] == [
        f"cols-columns:dica-dsaa:temporary:{i:05d}" for i in range(5)
    ]
    assert [b.records for b in columns.batches] == [5, 5, 5, 5, 3]


def test_a_repeated_request_is_answered_from_the_cache(ttp: TTPSetup, hospital_a: Hospital) -> None:
    digests, mrn = _columns(_people(hospital_a, 4, "again-"))
    client = ttp.client("demo-hospital")
    first = client.temporary_columns(
        "dica-dsaa", digests, mrn, run_id="cols-again", profile_version="nl-2026.1"
    )
    second = client.temporary_columns(
        "dica-dsaa", digests, mrn, run_id="cols-again", profile_version="nl-2026.1"
    )
    assert first.labels["NGGV"].equals(second.labels["NGGV"])
    assert first.batches[0].batch_id == second.batches[0].batch_id


@pytest.mark.parametrize(
    ("digests", "mrn", "code"),
    [
        ({"NGGV": ["ab" * 32, "zz" * 32]}, None, "invalid_digest"),
        ({"NGGV": ["ab" * 32, "AB" * 32]}, None, "invalid_digest"),
        ({"NGGV": ["ab" * 32, None]}, None, "no_inputs"),
        ({"NGGV": ["ab" * 32], "B": ["cd" * 32]}, None, "type_not_allowed"),
        ({"NGGV": ["ab" * 32]}, ["!!"], "invalid_mrn_ciphertext"),
    ],
)
def test_the_ttp_refuses_in_columns_what_it_refuses_in_records(
    ttp: TTPSetup,
    digests: dict[str, list[str | None]],
    mrn: list[str | None] | None,
    code: str,
) -> None:
    client = ttp.client("demo-hospital")
    with pytest.raises(TTPRefused) as refused:
        client.temporary_columns(
            "dica-dsaa",
            {c: pa.array(v, pa.string()) for c, v in digests.items()},
            pa.array(mrn, pa.string()) if mrn is not None else None,
            run_id=f"cols-refused-{code}",
            profile_version="nl-2026.1",
            bsn_justification="test" if "B" in digests else None,
        )
    assert refused.value.code == code, refused.value
    assert "ab" * 32 not in str(refused.value)
