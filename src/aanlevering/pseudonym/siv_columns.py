"""AES-SIV (RFC 5297) of many equal-length messages at once, and base64url of many tokens.

Why: the MRN pseudonym is one AES-SIV encryption per person, and the
``cryptography`` AEAD call costs about 4 microseconds each, most of it set-up
per call: 4 s of a million-person run. The associated data is the same for
every MRN of a batch and every padded MRN is whole AES blocks, so S2V and CTR
reduce to a few AES-ECB passes over the whole batch (one C call each) and
NumPy XORs. The result is byte for byte what ``AESSIV.encrypt`` returns
(``V || C``); ``tests/unit/pseudonym/test_siv_columns.py`` pins the two
together for every key size, both padded lengths and random MRNs.
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence

import numpy as np
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_BLOCK = 16
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _dbl(block: bytes) -> bytes:
    """Doubling in GF(2^128) as RFC 5297 (and CMAC's subkeys) define it."""
    value = int.from_bytes(block, "big") << 1
    if value >> 128:
        value = (value ^ 0x87) & ((1 << 128) - 1)
    return value.to_bytes(_BLOCK, "big")


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _cmac(key: bytes, message: bytes) -> bytes:
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(message)
    return mac.finalize()


def siv_encrypt_rows(key: bytes, associated_data: Sequence[bytes], rows: np.ndarray) -> np.ndarray:
    """``AESSIV(key).encrypt(row, associated_data)`` of every row of ``rows``.

    ``rows`` is an ``(n, length)`` uint8 array with ``length`` a positive
    multiple of 16 (padded MRNs); the result is ``(n, 16 + length)``: the
    synthetic IV followed by the ciphertext.
    """
    count, length = rows.shape
    if length == 0 or length % _BLOCK:
        raise ValueError("rows must be whole AES blocks")
    half = len(key) // 2
    mac_key, ctr_key = key[:half], key[half:]
    # ECB here is the raw block cipher that CMAC's chaining and CTR's counters are
    # built from below (one call over a whole batch), never a mode for data.
    mac_ecb = Cipher(algorithms.AES(mac_key), modes.ECB()).encryptor()  # noqa: S305
    ctr_ecb = Cipher(algorithms.AES(ctr_key), modes.ECB()).encryptor()  # noqa: S305
    # S2V: the associated data is the same for every row, so is D after it.
    d = _cmac(mac_key, bytes(_BLOCK))
    for item in associated_data:
        d = _xor(_dbl(d), _cmac(mac_key, item))
    # len(P) >= 16: T = P xorend D; V = CMAC(K1, T), T being whole blocks (subkey K1').
    subkey = np.frombuffer(_dbl(mac_ecb.update(bytes(_BLOCK))), np.uint8)
    t = rows.copy()
    t[:, -_BLOCK:] ^= np.frombuffer(d, np.uint8)
    t[:, -_BLOCK:] ^= subkey
    blocks = length // _BLOCK
    state = np.zeros((count, _BLOCK), np.uint8)
    for j in range(blocks):
        chained = np.ascontiguousarray(state ^ t[:, j * _BLOCK : (j + 1) * _BLOCK])
        state = np.frombuffer(mac_ecb.update(chained.tobytes()), np.uint8).reshape(count, _BLOCK)
    v = state
    # CTR from Q = V with bits 63 and 31 cleared; the last word cannot carry (bit 31 is 0).
    q = v.copy()
    q[:, 8] &= 0x7F
    q[:, 12] &= 0x7F
    counters = np.repeat(q[:, None, :], blocks, axis=1)
    low = q[:, 12:16].copy().view(">u4")[:, 0]
    counters[:, :, 12:16] = (
        (low[:, None] + np.arange(blocks, dtype=np.uint32)).astype(">u4").view(np.uint8)
    ).reshape(count, blocks, 4)
    stream = np.frombuffer(ctr_ecb.update(counters.tobytes()), np.uint8).reshape(count, length)
    return np.concatenate([v, rows ^ stream], axis=1)


def b64url_blocks(rows: np.ndarray) -> tuple[bytes, int, int]:
    """Base64url of every row of an ``(n, width)`` uint8 array, back to back, in one C call.

    Each row is padded with zero bytes to whole 3-byte groups, so the base64
    of the whole array is the rows' texts back to back; a row's text is then
    the first ``chars`` (``ceil(4 * width / 3)``) of its ``step`` characters,
    as the zero bits that pad a last group are what base64 itself pads with.
    Returns the text, ``step`` and ``chars``.
    """
    count, width = rows.shape
    stride = -(-width // 3) * 3
    padded = np.zeros((count, stride), np.uint8)
    padded[:, :width] = rows
    text = binascii.b2a_base64(padded.tobytes(), newline=False).translate(_URLSAFE)
    return text, stride // 3 * 4, -(-width * 4 // 3)


def b64url_rows(rows: np.ndarray) -> list[str]:
    """Unpadded base64url text of every row of an ``(n, width)`` uint8 array."""
    text, step, chars = b64url_blocks(rows)
    decoded = text.decode("ascii")
    return [decoded[start : start + chars] for start in range(0, len(rows) * step, step)]
