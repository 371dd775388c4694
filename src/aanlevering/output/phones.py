"""Phone numbers for the output guard: the run's numbers and where delivered text holds them.

A phone number is written in many ways ("06-12345678", "06 1234 5678",
"+31 6 12345678", "0031 (0)20 123 4567"), so tokens split on separators
never match it. Both sides are therefore reduced to the same form: the
nine-digit Dutch national significant number (NSN, decision 0410). In text,
a run of at most three separators (space, ``-``, ``.``, ``/``, ``(``, ``)``)
between two digits is removed, and each maximal run of digits is read as
a number with an optional trunk or country prefix (``0``, ``31``, ``0031``,
``310``, ``00310``). Longer gaps, letters or other punctuation end a number,
so unrelated numbers in a sentence are not joined.

:func:`phone_lines_reference` says this with regular expressions, line by
line; :func:`phone_lines` does the same with byte tables for a chunk of
lines at once (the guard reads GBs) and is pinned to it by tests.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Digits of a number, with an optional trunk/country prefix, as one NSN of nine digits.
NSN = r"^(?:00310|0031|310|31|0)?(?P<nsn>[1-9][0-9]{8})$"
_NSN = re.compile(NSN)
#: Separators that may stand between the digits of one written number.
SEPARATORS = b" -./()"
_JOIN = re.compile(r"(?<=[0-9])[ \-./()]{1,3}(?=[0-9])")
_RUN = re.compile(r"[0-9]+")
#: Longest digit run that can hold a number (``00310`` and nine digits).
LONGEST = 14

_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[list(b"0123456789")] = True
_SEPARATOR = np.zeros(256, dtype=bool)
_SEPARATOR[list(SEPARATORS)] = True
_DIGITS_ONLY = bytes(b if b in b"0123456789" else ord(" ") for b in range(256))


def national_number(digits: str) -> str | None:
    """The NSN of a run of digits, or None when it is no (Dutch) phone number."""
    match = _NSN.match(digits)
    return match.group("nsn") if match else None


def run_phone_numbers(values: Iterable[str]) -> set[str]:
    """The NSNs of the run's phone field values (several per value: ``;`` or ``,`` apart)."""
    found: set[str] = set()
    for value in values:
        for part in re.split(r"[;,]", value):
            nsn = national_number(re.sub(r"[^0-9]", "", part))
            if nsn is not None:
                found.add(nsn)
    return found


def text_numbers(text: str) -> set[str]:
    """The NSNs written in ``text`` (the reference reading of one value or line)."""
    joined = _JOIN.sub("", text)
    return {nsn for run in _RUN.findall(joined) if (nsn := national_number(run)) is not None}


def phone_lines_reference(lines: pa.Array, numbers: Collection[str]) -> list[int]:
    """Indexes of ``lines`` that hold one of ``numbers`` (NSNs), line by line."""
    return [
        index
        for index, line in enumerate(lines.to_pylist())
        if line is not None and not text_numbers(line).isdisjoint(numbers)
    ]


def _joinable(raw: np.ndarray) -> np.ndarray:
    """Mask of the separator bytes :data:`_JOIN` removes: runs of 1-3 between two digits."""
    n = len(raw)
    separator = _SEPARATOR[raw].astype(np.int8)
    edges = np.diff(np.concatenate(([0], separator, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # exclusive
    digit = _DIGIT[raw]
    ok = (ends - starts <= 3) & (starts > 0) & (ends < n)
    ok &= digit[np.maximum(starts - 1, 0)] & digit[np.minimum(ends, n - 1)]
    mark = np.zeros(n + 1, dtype=np.int32)
    np.add.at(mark, starts[ok], 1)
    np.add.at(mark, ends[ok], -1)
    removed: np.ndarray = np.cumsum(mark[:n]) > 0
    return removed


def phone_lines(lines: pa.Array, numbers: Collection[str]) -> list[int]:
    """:func:`phone_lines_reference` over a chunk of lines at once (pinned by tests).

    Every byte but a digit becomes a space (a UTF-8 sequence holds no ASCII
    digit, so any text takes this path), joinable separators are dropped,
    and only the chunk's distinct digit runs of a phone number's length are
    read as numbers.
    """
    if not numbers or not len(lines):
        return []
    if lines.null_count:
        return phone_lines_reference(lines, numbers)
    lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    offsets = offsets[lines.offset : lines.offset + len(lines) + 1]
    data = lines.buffers()[2]
    body = data[int(offsets[0]) : int(offsets[-1])].to_pybytes() if data is not None else b""
    offsets = offsets - offsets[0]
    if not body:
        return []
    raw = np.frombuffer(body, dtype=np.uint8)
    mapped = np.frombuffer(body.translate(_DIGITS_ONLY), dtype=np.uint8)
    removed = _joinable(raw)
    if removed.any():
        before = np.concatenate(([0], np.cumsum(removed)))
        offsets = offsets - before[offsets]
        mapped = mapped[~removed]
    text = pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(mapped.tobytes())
    )
    split = pc.ascii_split_whitespace(text)
    flat = pc.list_flatten(split)
    length = pc.utf8_length(flat)
    fits = pc.and_(pc.greater_equal(length, 9), pc.less_equal(length, LONGEST))
    distinct = pc.unique(pc.filter(flat, fits))
    nsns = pc.struct_field(pc.extract_regex(distinct, NSN), [0])
    known = set(numbers).intersection(pc.drop_null(nsns).to_pylist())
    if not known:
        return []
    present = pc.filter(distinct, pc.is_in(nsns, value_set=pa.array(sorted(known), pa.string())))
    hit = pc.is_in(flat, value_set=present)
    parents = pc.filter(pc.list_parent_indices(split), hit).to_numpy()
    return [int(i) for i in np.unique(parents)]
