"""The MRN ciphertext check per value and per column apply the same rules (decision 1023).

Local mode and the record form ask :func:`not_ciphertext` per value, the
column form :func:`not_ciphertext_rows` per text length; a ciphertext refused
by one and passed by the other would make the TTP's answer depend on the form
of the request. True AES-SIV output passes; clear numbers dressed as base64url
do not.
"""

from __future__ import annotations

import base64

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.counterparts.ttp.mrn_ciphertext import not_ciphertext, not_ciphertext_rows
from aanlevering.pseudonym.crypto import b64url_decode, b64url_encode

#: Byte strings near each rule's edge: random, runs of zeros, MRN-like and printable text.
_EDGES = st.one_of(
    st.binary(min_size=17, max_size=60),
    st.lists(
        st.sampled_from([0x00, 0x30, 0x41, 0x20, 0x7E, 0x7F, 0xFF]), min_size=17, max_size=40
    ).map(bytes),
    st.text(alphabet="0123456789ABCXYZ -./", min_size=17, max_size=40).map(str.encode),
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=17, max_size=40
    ).map(str.encode),
)
#: Base64url texts near the letter rules: digits only, long runs of one letter.
_TEXTS = st.one_of(
    st.text(alphabet="0123456789", min_size=23, max_size=40),
    st.text(alphabet="0M", min_size=23, max_size=40),
    st.text(alphabet="AB", min_size=23, max_size=40),
)


def _rows(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    raw = [b64url_decode(text) for text in texts]
    letters = np.frombuffer("".join(texts).encode("ascii"), np.uint8).reshape(len(texts), -1)
    return letters, np.frombuffer(b"".join(raw), np.uint8).reshape(len(texts), -1)


def _check_agree(texts: list[str]) -> None:
    by_length: dict[int, list[str]] = {}
    for text in texts:
        if len(text) % 4 != 1:
            by_length.setdefault(len(text), []).append(text)
    for group in by_length.values():
        letters, raw = _rows(group)
        per_column = not_ciphertext_rows(letters, raw).tolist()
        per_value = [not_ciphertext(t, b64url_decode(t)) is not None for t in group]
        assert per_value == per_column, group


@settings(max_examples=300, deadline=None)
@given(st.lists(_EDGES.map(b64url_encode), min_size=1, max_size=12))
def test_per_value_and_per_column_refuse_the_same_bytes(texts: list[str]) -> None:
    _check_agree(texts)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXTS, min_size=1, max_size=12))
def test_per_value_and_per_column_refuse_the_same_texts(texts: list[str]) -> None:
    _check_agree(texts)


def test_true_aes_siv_ciphertexts_pass() -> None:
    siv = AESSIV(b"k" * 64)
    texts = [
        b64url_encode(siv.encrypt(f"{n:07d}".encode().ljust(32, b"\0"), [b"mrn"]))
        for n in range(3000)
    ] + [b64url_encode(siv.encrypt(str(n).encode(), [b"mrn"])) for n in range(3000)]
    assert all(not_ciphertext(text, b64url_decode(text)) is None for text in texts)
    _check_agree(texts)


CLEAR = {
    "digits": "000000000000000001234567",
    "a padded number": "MRN000000000000000000042",
    "an MRN as base64 text": base64.urlsafe_b64encode(b"MRN-0012345 678.90/12").decode(),
    "a padded MRN in base64": b64url_encode(b"0012345".ljust(24, b"\0")),
    "an integer in base64": b64url_encode((12345678).to_bytes(24, "big")),
    "a name and birth date in base64": b64url_encode(b"Jansen, Piet; 1980-01-01; male"),
}


def test_clear_numbers_dressed_as_ciphertexts_are_refused() -> None:
    for kind, written in CLEAR.items():
        text = written.rstrip("=")
        assert not_ciphertext(text, b64url_decode(text)) is not None, kind
