"""Defence in depth: refuse event payloads that carry something shaped like a BSN.

Events must refer to patients only by a keyed patient reference
(:mod:`aanlevering.pseudonym.patient_ref`). Code review and the event classes'
field types are the real protection; this cheap check catches the obvious slip
of a BSN landing in a payload, a metadata value or a stream name before it is
written to an append-only log that can not be corrected afterwards.

What counts: a string that is, or contains as a separate token, nine digits
(optionally written 1234.56.782) passing the BSN eleven-test. Integers are not
checked: byte sizes and counts are legitimately nine digits and one in eleven
would pass the test, blocking real deliveries; BSNs travel as strings (they
have leading zeros). Errors name the place, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from aanlevering.errors import EventStoreError

# Nine digits as a token of their own: not inside a longer number, word or hex string,
# and not the fraction of a decimal such as "0.123456782".
_CANDIDATE = re.compile(
    r"(?<![0-9A-Za-z])(?<!\d[.,])(\d{4})\.?(\d{2})\.?(\d{3})(?![0-9A-Za-z])(?![.,]\d)"
)
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def passes_elfproef(digits: str) -> bool:
    """The BSN eleven-test on exactly nine digits (all zeros excluded)."""
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    return sum(w * int(d) for w, d in zip(_WEIGHTS, digits, strict=True)) % 11 == 0


def elfproef_mask(nine_digits: pa.Array) -> np.ndarray:
    """:func:`passes_elfproef` of each value of ``nine_digits`` (each exactly nine ASCII
    digits, no nulls), as a boolean array.

    Why: a column of a million numbers (the run's BSNs, its patient numbers) is a
    second of Python value by value; here it is one matrix product over the bytes.
    """
    if not len(nine_digits):
        return np.zeros(0, dtype=bool)
    wide = nine_digits.cast(pa.large_string())
    offsets = np.frombuffer(wide.buffers()[1], dtype=np.int64)
    offsets = offsets[wide.offset : wide.offset + len(wide) + 1]
    data = np.frombuffer(wide.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    matrix = data.reshape(-1, 9).astype(np.int64) - ord("0")
    passes: np.ndarray = (matrix @ np.array(_WEIGHTS, dtype=np.int64)) % 11 == 0
    return passes & matrix.any(axis=1)  # all zeros is no BSN


def contains_probable_bsn(text: str) -> bool:
    """Whether ``text`` holds a nine-digit token that passes the eleven-test."""
    return any(passes_elfproef("".join(match.groups())) for match in _CANDIDATE.finditer(text))


def probable_bsns(text: str) -> set[str]:
    """The nine-digit tokens of ``text`` that pass the eleven-test, as nine digits."""
    found = ("".join(match.groups()) for match in _CANDIDATE.finditer(text))
    return {digits for digits in found if passes_elfproef(digits)}


def check_no_identifiers(value: Any, where: str) -> None:
    """Raise :class:`EventStoreError` naming the path of the first BSN-like string in ``value``."""
    if isinstance(value, str):
        if contains_probable_bsn(value):
            raise EventStoreError(
                f"{where}: refused to record a value that looks like a BSN; events must refer "
                "to patients by a patient reference (aanlevering.pseudonym.patient_ref)"
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_no_identifiers(key, f"{where} (key)")
            check_no_identifiers(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        if all(type(item) is str for item in value) and not contains_probable_bsn("\n".join(value)):
            # One scan for a list of plain strings: a line break ends a token just
            # as the end of a string does, so the joined text matches the same.
            return
        for index, item in enumerate(value):
            check_no_identifiers(item, f"{where}[{index}]")


def check_encoded_payload(payload: Mapping[str, Any], payload_json: str, where: str) -> None:
    """:func:`check_no_identifiers` of ``payload`` at the cost of one scan of its JSON text.

    Why: every appended event is checked, and walking a payload value by value
    took about a third of the time of writing an event (decision 1040). The
    text is the payload's ``canonical_json`` (no ASCII escaping). Without a
    backslash in it, every key and string value stands in the text verbatim
    between double quotes, and a quote is neither a digit, a letter nor a
    separator, so each BSN-like token the walk finds is found in the text too.
    The walk runs only when the text holds a backslash or a BSN-like token
    (which may be an integer the walk leaves alone), and it alone decides and
    names the place.
    """
    if "\\" in payload_json or contains_probable_bsn(payload_json):
        check_no_identifiers(payload, where)
