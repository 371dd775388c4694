"""Reading a TTP answer over whole buffers is the per-value version.

``columns.payload_letters`` deletes the base64url letters from the values'
bytes in one call instead of matching ``^[A-Za-z0-9_-]+$`` per value; for any
column (nulls, empty values, foreign letters, non-ASCII, slices) both agree.
``columns.with_head`` lays fixed-width labels out in NumPy instead of
``binary_join_element_wise``: the same labels.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from aanlevering.pseudonym.ttp.columns import (
    payload_letters,
    payload_letters_reference,
    with_head,
)

GOOD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
BAD = ["", ":", "=", "+", "/", " ", "\n", "é", "\x00", "€", "."]


def _value(rng: random.Random) -> str | None:
    if rng.random() < 0.1:
        return None
    text = "".join(rng.choice(GOOD) for _ in range(rng.randint(1, 70)))
    if rng.random() < 0.15:
        bad = rng.choice(BAD)
        at = rng.randint(0, len(text))
        text = text[:at] + bad + text[at:] if bad else ""
    return text


@pytest.mark.parametrize("seed", range(400))
def test_payload_letters_equal_the_regex(seed: int) -> None:
    rng = random.Random(seed)
    column = pa.array([_value(rng) for _ in range(rng.randint(0, 30))], pa.string())
    if len(column) > 2 and rng.random() < 0.3:  # a slice: offsets not starting at zero
        start = rng.randint(0, len(column) - 1)
        column = column.slice(start, rng.randint(0, len(column) - start))
    assert payload_letters(column) == payload_letters_reference(column)


def test_each_foreign_letter_is_refused() -> None:
    for bad in BAD:
        column = pa.array(["QUJD", None, "QUJD" + bad if bad else ""], pa.string())
        assert payload_letters(column) is False
        assert payload_letters_reference(column) is False
    assert payload_letters(pa.array(["QUJD", None, GOOD], pa.string())) is True


@pytest.mark.parametrize("seed", range(200))
def test_labels_with_head_equal_the_arrow_join(seed: int) -> None:
    """``with_head`` (NumPy for one width, no nulls) is ``binary_join_element_wise``."""
    rng = random.Random(seed)
    width = rng.choice([1, 3, 64, 107])
    rows = rng.choice([0, 1, 5, 60])
    values = [
        None
        if rng.random() < 0.05
        else "".join(rng.choice(GOOD) for _ in range(width if rng.random() < 0.9 else width + 1))
        for _ in range(rows)
    ]
    column = pa.array(values, pa.string())
    if rows > 2 and rng.random() < 0.4:
        start = rng.randint(0, rows - 1)
        column = column.slice(start, rng.randint(0, rows - start))
    head = rng.choice(["T1:NGGV:v1:", "MRN:v12:", "", "é:"])
    got = with_head(head, column)
    assert got.type == pa.string()
    assert got.to_pylist() == pc.binary_join_element_wise(head, column, "").to_pylist()
    got.validate(full=True)
