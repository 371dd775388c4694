"""The reference TTP decodes a batch's MRN ciphertexts a text length at a time, as one by one.

``pseudonyms._decoded_mrns`` decodes all ciphertexts of one length in one call;
the straightforward version (``_decoded_mrns_reference``) decodes and checks
each with ``_mrn_ciphertext``. Wherever the fast path answers, the bytes and
the rows per byte length are the reference's; wherever the reference refuses
a ciphertext, the fast path does not answer (and the reference's refusal of
the first bad row is what the TTP sends).
"""

from __future__ import annotations

import base64
import os
import random

import pytest

from aanlevering.counterparts.ttp.pseudonyms import (
    MRN_CIPHERTEXT_MAX_BYTES,
    _decoded_mrns,
    _decoded_mrns_reference,
)
from aanlevering.counterparts.ttp.refusal import Refusal

BAD = ["=", "+", "/", "\n", " ", "é", "!", ""]


def _text(rng: random.Random) -> str | None:
    if rng.random() < 0.1:
        return None
    size = rng.choice([17, 48, 80, 49, 50, rng.randint(1, 20), MRN_CIPHERTEXT_MAX_BYTES, 513])
    text = base64.urlsafe_b64encode(os.urandom(size)).rstrip(b"=").decode("ascii")
    if rng.random() < 0.08:
        at = rng.randint(0, len(text))
        text = text[:at] + rng.choice(BAD) + text[at:]
    if rng.random() < 0.03:
        text = text[:-1]  # one letter more than a multiple of four, at some lengths
    return text


@pytest.mark.parametrize("seed", range(300))
def test_fast_decoding_is_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    texts = [_text(rng) for _ in range(rng.randint(0, 25))]
    try:
        reference = _decoded_mrns_reference("reg", texts)
    except Refusal:
        assert _decoded_mrns(texts) is None
        return
    fast = _decoded_mrns(texts)
    if fast is not None:
        assert fast[0] == reference[0]
        assert fast[1] == reference[1]


def test_the_usual_batch_takes_the_fast_path() -> None:
    texts = [
        base64.urlsafe_b64encode(os.urandom(size)).rstrip(b"=").decode("ascii") if size else None
        for size in (48, 80, 0, 48, 80, 48)
    ]
    fast = _decoded_mrns(texts)
    assert fast is not None
    assert fast == _decoded_mrns_reference("reg", texts)
    assert fast[1] == {48: [0, 3, 5], 80: [1, 4]}
