"""The run-wide check of TTP answers: no pseudonym for two inputs, no input sent back (0440)."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pyarrow as pa
import pytest

from aanlevering.errors import TTPError
from aanlevering.pseudonym.crypto import b64url_encode
from aanlevering.pseudonym.ttp.one_to_one import (
    OneToOne,
    mixed_count,
    mixed_count_reference,
    value_keys,
)

HEAD = "T1:NGGV:v1:"


def digests(*seeds: str | None) -> pa.Array:
    return pa.array(
        [None if s is None else hashlib.sha256(s.encode()).hexdigest() for s in seeds], pa.string()
    )


def payloads(*names: str | None) -> pa.Array:
    """Labels whose payload is fixed per name (64 base64url characters, as sealed)."""
    return pa.array(
        [
            None if n is None else HEAD + b64url_encode(hashlib.sha384(n.encode()).digest())
            for n in names
        ],
        pa.string(),
    )


def test_keys_are_equal_exactly_for_equal_values_wherever_they_sit() -> None:
    column = pa.array(["x" * 5 + "A" * 20, None, "y" * 5 + "A" * 20, "x" * 5 + "A" * 20])
    keys = value_keys(column.slice(1), skip=5)
    assert len(keys) == 2 and keys[0] == keys[1]
    assert value_keys(column)[0] != value_keys(column)[1]
    assert value_keys(column)[0] == value_keys(column)[2]
    with pytest.raises(ValueError):
        value_keys(pa.array(["short"]))


def test_the_same_input_twice_may_have_the_same_pseudonym() -> None:
    check = OneToOne("reg-a")
    check.add("batch 0", "NGGV", 1, digests("a", "b", None), payloads("A", "B", None), skip=11)
    check.add("batch 1", "NGGV", 1, digests("a", "c"), payloads("A", "C"), skip=11)
    check.check()


def test_one_pseudonym_for_two_inputs_stops_the_run_across_batches() -> None:
    check = OneToOne("reg-a")
    check.add("batch 0", "NGGV", 1, digests("a", "b"), payloads("A", "B"), skip=11)
    check.add("batch 1", "NGGV", 1, digests("c", "d"), payloads("C", "A"), skip=11)
    with pytest.raises(TTPError, match=r"1 NGGV pseudonym.* version 1 .*more than one") as error:
        check.check()
    assert hashlib.sha256(b"a").hexdigest() not in str(error.value)


def test_key_versions_and_types_are_apart() -> None:
    check = OneToOne("reg-a")
    check.add("batch 0", "NGGV", 1, digests("a"), payloads("A"), skip=11)
    check.add("batch 1", "NGGV", 2, digests("b"), payloads("A"), skip=11)
    check.add("batch 1", "RGG", 1, digests("c"), payloads("A"), skip=11)
    check.check()


def test_an_input_sent_back_stops_at_once() -> None:
    sent = digests("a", "b")
    echoed = pa.array([HEAD + hashlib.sha256(b"x").hexdigest(), HEAD + sent[1].as_py()])
    with pytest.raises(TTPError, match=r"1 NGGV payload.* the input sent"):
        OneToOne("reg-a").add("batch 0", "NGGV", 1, sent, echoed, skip=11)


def test_random_payloads_of_many_rows_pass() -> None:
    rows = 50_000
    raw = os.urandom(48 * rows)
    labels = pa.array(
        [HEAD + b64url_encode(raw[48 * i : 48 * i + 48]) for i in range(rows)], pa.string()
    )
    inputs = pa.array([os.urandom(32).hex() for _ in range(rows)], pa.string())
    check = OneToOne("reg-a")
    check.add("batch 0", "NGGV", 1, inputs, labels, skip=11)
    check.check()
    assert len(np.unique(value_keys(labels, 11))) == rows


@pytest.mark.parametrize("seed", range(40))
def test_the_count_of_mixed_payloads_is_the_straightforward_one(seed: int) -> None:
    """mixed_count (one sort, the repeated rows picked in Arrow) against the dict of sets."""
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(0, 400))
    people = rng.integers(0, 2**64, max(rows, 1), dtype=np.uint64)
    # Some inputs sent twice or more (one person, two patient numbers): same payload, honest.
    inputs = people[rng.integers(0, max(1, rows // (1 + seed % 4)), rows)]
    payloads = inputs ^ np.uint64(0x5DEECE66D)
    if seed % 2:  # a wrong answer: some rows get the payload of another row
        wrong = rng.integers(0, rows, int(rng.integers(1, 6))) if rows else np.zeros(0, int)
        payloads[wrong] = payloads[rng.integers(0, rows, len(wrong))]
    expected = mixed_count_reference(payloads, inputs)
    assert mixed_count(payloads, inputs) == expected
    if seed == 1:
        assert expected > 0  # the wrong case is really taken


def test_the_mixed_count_counts_every_extra_input_of_a_payload() -> None:
    payloads = np.array([7, 7, 7, 7, 9, 9, 3], dtype=np.uint64)
    inputs = np.array([1, 2, 1, 3, 4, 4, 5], dtype=np.uint64)
    assert mixed_count_reference(payloads, inputs) == 2
    assert mixed_count(payloads, inputs) == 2
    assert mixed_count(payloads[:0], inputs[:0]) == 0
