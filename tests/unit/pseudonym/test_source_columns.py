"""The source step into Arrow columns is the list path, value for value and error for error.

``source_columns`` hex-encodes the joined HMACs once and pads, seals and
base64url-encodes MRNs a padded length at a time in NumPy; the straightforward
version is ``source_step.apply_source_step`` (one ``hex()`` and one padded
``encode`` per value). For random columns (missing rows, every MRN length
from 1 to 64, both padded lengths mixed, every key size) the two agree.
"""

from __future__ import annotations

import os
import random
import string

import pyarrow as pa
import pytest

from aanlevering.errors import PseudonymisationError
from aanlevering.pseudonym.normalise.base import CanonicalColumns
from aanlevering.pseudonym.source_columns import (
    encrypt_mrn_arrow,
    hash_column_arrow,
    source_step_columns,
)
from aanlevering.pseudonym.source_step import (
    MrnKey,
    SourceKey,
    apply_source_step,
    encrypt_mrn_column,
    hash_column,
)
from aanlevering.pseudonym_types import PseudonymType as T

MRN_LETTERS = string.ascii_uppercase + string.digits + "./_-"


def _mrn(rng: random.Random) -> str | None:
    if rng.random() < 0.15:
        return None
    size = rng.choice([1, 7, 10, 31, 32, 33, 36, 63, 64, rng.randint(1, 64)])
    return "".join(rng.choice(MRN_LETTERS) for _ in range(size))


def _canonical(rng: random.Random) -> str | None:
    if rng.random() < 0.15:
        return None
    return "".join(rng.choice(string.printable + "éëï") for _ in range(rng.randint(0, 40)))


@pytest.mark.parametrize("seed", range(60))
def test_columns_equal_the_list_path(seed: int) -> None:
    rng = random.Random(seed)
    rows = rng.choice([0, 1, 2, 5, 40, 300])
    source_key = SourceKey("reg", rng.randint(1, 3), os.urandom(rng.choice([32, 48, 64])))
    mrn_key = MrnKey(1, os.urandom(rng.choice([32, 48, 64])))
    canonical = CanonicalColumns(
        "dutch-v1",
        rows,
        {
            T.NGGV: [_canonical(rng) for _ in range(rows)],
            T.RGG: [None] * rows if rng.random() < 0.2 else [_canonical(rng) for _ in range(rows)],
            T.MRN: [_mrn(rng) for _ in range(rows)],
        },
    )
    reference = apply_source_step(canonical, source_key, mrn_key)
    got = source_step_columns(canonical, source_key, mrn_key)
    assert (got.registration, got.profile_version, got.num_rows) == (
        reference.registration,
        reference.profile_version,
        reference.num_rows,
    )
    assert dict(got.key_versions) == dict(reference.key_versions)
    assert set(got.values) == set(reference.values)
    for type_, column in got.values.items():
        assert column.type == pa.string()
        assert column.to_pylist() == list(reference.values[type_]), type_


def test_only_present_values_are_hashed_and_placed_in_their_rows() -> None:
    key = SourceKey("reg", 1, b"k" * 32)
    values = [None, "A", None, None, "B", "A"]
    got = hash_column_arrow(key, "dutch-v1", T.NGGV, values)
    assert got.to_pylist() == hash_column(key, "dutch-v1", T.NGGV, values)
    assert got.null_count == 3


@pytest.mark.parametrize("bad", ["", "A" * 65, "AB\x00C", "ÉÉN"])
def test_an_unusual_mrn_fails_as_on_the_list_path(bad: str) -> None:
    key = MrnKey(1, b"m" * 64)
    values = ["OK1", None, bad]
    with pytest.raises((PseudonymisationError, UnicodeEncodeError)) as expected:
        encrypt_mrn_column(key, "reg", "dutch-v1", values)
    with pytest.raises(expected.type) as got:
        encrypt_mrn_arrow(key, "reg", "dutch-v1", values)
    assert str(got.value) == str(expected.value)


def test_all_missing_mrns_give_nulls() -> None:
    got = encrypt_mrn_arrow(MrnKey(1, b"m" * 32), "reg", "dutch-v1", [None, None])
    assert got.to_pylist() == [None, None]
