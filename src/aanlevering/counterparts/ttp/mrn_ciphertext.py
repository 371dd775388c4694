"""Whether an MRN "ciphertext" can be the hospital's AEAD output, or is a clear number.

The hospital sends its MRN encrypted under its own AES-SIV key (tag and
ciphertext: bytes that look uniformly random), written as unpadded base64url.
The TTP cannot open it, but it can tell that a text is *not* one: a hospital
number written out in digits (``000000000000001234567``, 23 or more of them
pass as base64url), one padded with a run of one character
(``MRN000000000000000000042``), or the number base64-encoded as text. Wrapping
such a value would make a clear MRN an MRN pseudonym and forward it, so it is
refused (decision 1023).

The shapes refused, each with a chance far below 10^-12 for a true ciphertext
(17 to 512 uniform bytes, 23 to 683 letters), the sum about 3·10^-13 per value:

* every letter a decimal digit: (10/64)^23 ≈ 3·10^-19;
* ten equal letters in a row: at most 674·64^-9 ≈ 4·10^-14;
* eight zero bytes in a row (a padded value or an integer): at most 505·256^-8 ≈ 3·10^-17;
* every byte a digit, capital, space, ``-``, ``.``, ``/`` or NUL (an MRN as
  text): at most (41/256)^17 ≈ 3·10^-14;
* 30 bytes or more, every byte printable ASCII or NUL (any text):
  at most (97/256)^30 ≈ 2·10^-13 (shorter text is left alone: its chance
  would be too high).
"""

from __future__ import annotations

import re

import numpy as np

#: Equal letters in a row from which a text is a padded number, not base64 of random bytes.
LETTER_RUN = 10
#: Zero bytes in a row from which the bytes are a padded value or an integer.
ZERO_RUN = 8
#: From this many bytes, text of any printable kind is refused.
TEXT_MIN_BYTES = 30

_RUN = re.compile(rf"(.)\1{{{LETTER_RUN - 1}}}", re.DOTALL)
_ZEROS = bytes(ZERO_RUN)
_TEXT_BYTES = bytes([0, *range(0x20, 0x7F)])
_MRN_TEXT_BYTES = b"\x00 -./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_DIGITS = "is only digits"
_LETTER_RUN = f"has {LETTER_RUN} or more equal letters in a row"
_ZERO_RUN = f"decodes to {ZERO_RUN} or more zero bytes in a row"
_MRN_TEXT = "decodes to a number written as text"
_TEXT = "decodes to text"


def not_ciphertext(text: str, raw: bytes) -> str | None:
    """Why ``text`` (decoding to ``raw``) cannot be an AEAD ciphertext, or None.

    The answer names the kind only, never the value. Why one value at a time:
    local mode wraps one MRN per call, where numpy's cost per call would
    dominate; :func:`not_ciphertext_rows` is the same rules over a column.
    """
    if text.isascii() and text.isdigit():
        return _DIGITS
    if _RUN.search(text):
        return _LETTER_RUN
    if _ZEROS in raw:
        return _ZERO_RUN
    if not raw.translate(None, _MRN_TEXT_BYTES):
        return _MRN_TEXT
    if len(raw) >= TEXT_MIN_BYTES and not raw.translate(None, _TEXT_BYTES):
        return _TEXT
    return None


def _runs(equal: np.ndarray, length: int) -> np.ndarray:
    """Per row, whether ``equal`` (rows of booleans) has ``length`` Trues in a row."""
    width = equal.shape[1] - length + 1
    if width <= 0:
        return np.zeros(equal.shape[0], bool)
    found = equal[:, :width].copy()
    for shift in range(1, length):
        found &= equal[:, shift : shift + width]
    return np.asarray(found.any(axis=1))


_MRN_TEXT_TABLE = np.zeros(256, bool)
_MRN_TEXT_TABLE[list(_MRN_TEXT_BYTES)] = True
_TEXT_TABLE = np.zeros(256, bool)
_TEXT_TABLE[list(_TEXT_BYTES)] = True


def not_ciphertext_rows(letters: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Rows failing :func:`not_ciphertext`: ``letters`` (texts, one length) and their bytes.

    Why: a column batch decodes its ciphertexts a length at a time; the check
    runs over the same matrices in a handful of numpy calls.
    """
    digits = ((letters >= ord("0")) & (letters <= ord("9"))).all(axis=1)
    letter_run = _runs(letters[:, 1:] == letters[:, :-1], LETTER_RUN - 1)
    zero_run = _runs(raw == 0, ZERO_RUN)
    mrn_text = _MRN_TEXT_TABLE[raw].all(axis=1)
    text = _TEXT_TABLE[raw].all(axis=1) & (raw.shape[1] >= TEXT_MIN_BYTES)
    found: np.ndarray = digits | letter_run | zero_run | mrn_text | text
    return found
