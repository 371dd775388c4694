"""Unique, realistic-looking identifiers for demo people and records, made columnwise.

BSNs, MRNs and record keys must be unique across a whole run (a duplicate
BSN would make two demo people one person for pseudonymisation), yet the
run is streamed in chunks and must not remember what it handed out. So each
identifier is a bijection of a global index: an affine permutation
``(a * index + offset) mod space`` with ``a`` coprime to ``space``, followed
by a decoding into digits. Unique by construction, random-looking, and a
pure function of (seed, index).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

#: Valid BSNs are enumerated as 9 per block of 10 candidates sharing their
#: first seven digits; blocks 1_000_000..9_999_999 give no leading zero.
BSN_BLOCKS = 9_000_000
BSN_SPACE = BSN_BLOCKS * 9
MRN_SPACE = 90_000_000
_ELFPROEF_WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3], dtype=np.int64)


def affine_permutation(index: IntArray, space: int, multiplier: int, offset: int) -> IntArray:
    """Map ``index`` (values below ``space``) one-to-one onto ``[0, space)``."""
    if math.gcd(multiplier, space) != 1:
        raise ValueError(f"multiplier {multiplier} is not coprime with {space}")
    return (index * multiplier + offset) % space


def coprime_multiplier(space: int, seed_value: int) -> int:
    """A seed-dependent multiplier coprime with ``space``, large enough to scatter."""
    candidate = (space // 3 + seed_value % (space // 7)) | 1
    while math.gcd(candidate, space) != 1:
        candidate += 2
    return candidate


def valid_bsn(k: IntArray) -> IntArray:
    """The k-th valid BSN (0 <= k < BSN_SPACE) as an integer of nine digits.

    Why this shape: the elfproef fixes the ninth digit from the first eight,
    and for each first seven digits at most one eighth digit has no valid
    ninth digit; skipping it enumerates valid BSNs without rejection.
    """
    block = 1_000_000 + k // 9
    j = k % 9
    digits = np.stack([(block // 10 ** (6 - i)) % 10 for i in range(7)], axis=1)
    partial = digits @ _ELFPROEF_WEIGHTS
    # eighth digit that would need a check digit of 10 (10 means none in 0..9)
    bad_d8 = ((10 - partial) * 6) % 11
    d8 = np.where(j < bad_d8, j, j + 1)
    d9 = (partial + 2 * d8) % 11
    result: IntArray = block * 100 + d8 * 10 + d9
    return result


def break_elfproef(bsn: IntArray) -> IntArray:
    """Change the check digit so the number fails the elfproef (stays 9 digits)."""
    last = bsn % 10
    result: IntArray = bsn - last + (last + 1) % 10
    # a different last digit with the same first eight never passes: for each
    # prefix exactly one check digit is valid.
    return result


def is_valid_bsn(text: str) -> bool:
    """Elfproef for a BSN string (9 digits, or 8 with an implied leading zero)."""
    digits = text.strip()
    if not digits.isdigit() or len(digits) not in (8, 9):
        return False
    digits = digits.zfill(9)
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    total -= int(digits[8])
    return total % 11 == 0 and digits != "000000000"


def format_uuid(high: npt.NDArray[np.uint64], low: npt.NDArray[np.uint64]) -> list[str]:
    """Random-looking version-4 UUID strings from two 64-bit words each."""
    hi = (high & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
    lo = (low & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
    raw = np.stack([hi, lo], axis=1).astype(">u8").tobytes()
    out: list[str] = []
    for i in range(len(hi)):
        x = raw[16 * i : 16 * i + 16].hex()
        out.append(f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}")
    return out


def record_keys(prefix: str, ordinal: IntArray, offset: int) -> list[str]:
    """Record keys like ``OK-3F2A9C1D``: unique per ordinal, not patient identifiers."""
    scrambled = affine_permutation(ordinal, 1 << 32, 0x9E3779B1, offset % (1 << 32))
    return [f"{prefix}-{x:08X}" for x in scrambled.tolist()]
