"""MRN pseudonyms a batch at a time: the same tokens as one AES-SIV call per MRN.

The reference is the straightforward form (``cryptography``'s ``AESSIV`` per
padded MRN, base64url without padding), as ``encrypt_mrn_column`` was before
S2V and CTR ran over whole batches (``pseudonym/siv_columns.py``).
"""

from __future__ import annotations

import base64
import os

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.errors import PseudonymisationError
from aanlevering.pseudonym.siv_columns import b64url_rows, siv_encrypt_rows
from aanlevering.pseudonym.source_step import (
    MRN_KEY_SIZES,
    MRN_PAD_BLOCK,
    MrnKey,
    encrypt_mrn_column,
    reveal_mrn,
)

AD = [b"aanlevering-mrn", b"dica-dsaa", b"dutch-v1"]
MRNS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./_-", min_size=1, max_size=64)


def _one_by_one(key: MrnKey, values: list[str | None]) -> list[str | None]:
    encrypt = AESSIV(key.secret).encrypt
    out: list[str | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        data = value.encode("ascii")
        padded = -(-len(data) // MRN_PAD_BLOCK) * MRN_PAD_BLOCK
        token = encrypt(data.ljust(padded, b"\x00"), AD)
        out.append(base64.urlsafe_b64encode(token).rstrip(b"=").decode())
    return out


@settings(max_examples=120, deadline=None)
@given(
    size=st.sampled_from(MRN_KEY_SIZES),
    seed=st.binary(min_size=64, max_size=64),
    values=st.lists(st.one_of(st.none(), MRNS), max_size=40),
)
def test_batch_tokens_are_one_aessiv_call_per_mrn(
    size: int, seed: bytes, values: list[str | None]
) -> None:
    key = MrnKey(1, seed[:size])
    tokens = encrypt_mrn_column(key, "dica-dsaa", "dutch-v1", values)
    assert tokens == _one_by_one(key, values)
    for value, token in zip(values, tokens, strict=True):
        if value is not None:
            assert token is not None
            assert reveal_mrn(key, "dica-dsaa", "dutch-v1", token) == value


@pytest.mark.parametrize("size", MRN_KEY_SIZES)
@pytest.mark.parametrize("length", [16, 32, 48, 64])
def test_rows_of_any_bytes_and_both_widths(size: int, length: int) -> None:
    key = os.urandom(size)
    rows = np.frombuffer(os.urandom(length * 300), np.uint8).reshape(300, length)
    encrypted = siv_encrypt_rows(key, AD, rows)
    expected = [AESSIV(key).encrypt(row.tobytes(), AD) for row in rows]
    assert [row.tobytes() for row in encrypted] == expected
    assert b64url_rows(encrypted) == [
        base64.urlsafe_b64encode(token).rstrip(b"=").decode() for token in expected
    ]


@given(st.lists(st.binary(min_size=7, max_size=7), max_size=20))
def test_b64url_of_rows_of_every_remainder(rows: list[bytes]) -> None:
    for width in (5, 6, 7):
        array = np.frombuffer(b"".join(r[:width] for r in rows), np.uint8).reshape(-1, width)
        assert b64url_rows(array) == [
            base64.urlsafe_b64encode(r[:width]).rstrip(b"=").decode() for r in rows
        ]


@pytest.mark.parametrize("bad", ["", "A\x00B", "X" * 65])
def test_a_value_that_is_not_canonical_is_refused(bad: str) -> None:
    key = MrnKey(1, bytes(range(64)))
    with pytest.raises(PseudonymisationError, match="not a canonical MRN"):
        encrypt_mrn_column(key, "dica-dsaa", "dutch-v1", ["OK1", bad])
