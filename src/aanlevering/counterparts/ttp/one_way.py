"""Whether a source digest can be a one-way value at all, or is a clear identifier in hex.

The TTP never sees a clear identifier: the hospital sends an HMAC-SHA256 per
person and type. A real pseudonymisation service cannot tell one HMAC from
another, but it can tell that 32 bytes are *not* one: a zero-padded BSN or
MRN written out in hex, an identifier as a big-endian integer, a name and a
birth date as text in hex. Pseudonymising such a value would show the TTP the
identifier and give it a pseudonym that a leaked key reverses by trying every
BSN, so the request is refused (decision 1021).

The three shapes refused, each with a chance below 10^-12 for true HMAC output
(uniform bytes), so a million-patient run with a handful of types refuses a
true digest with a chance of a few in a million:

* every hex digit a decimal one: (10/16)^64 ≈ 9·10^-14;
* eight or more zero bytes: about C(32, 8)·256^-8 ≈ 6·10^-13;
* every byte printable ASCII or NUL (text, padded): (96/256)^32 ≈ 2·10^-14.
"""

from __future__ import annotations

import numpy as np

DIGEST_BYTES = 32
#: Zero bytes from which a digest counts as a short value padded out (or an integer).
MAX_ZERO_BYTES = 7


def not_one_way_rows(raw: bytes) -> list[int]:
    """The rows (32 bytes each, concatenated in ``raw``) that cannot be HMAC output.

    One pass over the whole column in numpy, so the check costs nothing next to
    the AES-SIV that follows.
    """
    if not raw:
        return []
    rows = np.frombuffer(raw, np.uint8).reshape(-1, DIGEST_BYTES)
    decimal = (((rows >> 4) < 10) & ((rows & 0x0F) < 10)).all(axis=1)
    zero = rows == 0
    padded = zero.sum(axis=1) > MAX_ZERO_BYTES
    text = (((rows >= 0x20) & (rows <= 0x7E)) | zero).all(axis=1)
    return [int(row) for row in np.flatnonzero(decimal | padded | text)]


#: Printable ASCII and NUL: what text padded out is made of.
_TEXT_BYTES = bytes([0, *range(0x20, 0x7F)])


def is_one_way(digest: bytes) -> bool:
    """Whether one 32-byte digest passes :func:`not_one_way_rows` (its rules, without numpy).

    Why: local mode checks one value at a time, where numpy's cost per call
    was over half of the rewrite's.
    """
    return not (
        digest.hex().isdecimal()
        or digest.count(0) > MAX_ZERO_BYTES
        or not digest.translate(None, _TEXT_BYTES)
    )


#: How a refusal says what was wrong (the kind, never the value).
NOT_ONE_WAY = (
    "is no one-way source digest (it reads as a decimal number, a padded value or text "
    "written in hex); the hospital sends HMAC-SHA256 digests, never identifiers"
)
