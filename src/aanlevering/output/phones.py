"""Phone numbers for the output guard: the run's numbers and where delivered text holds them.

A phone number is written in many ways ("06-12345678", "06 1234 5678",
"+31 6 12345678", "0031 (0)20 123 4567"), so tokens split on separators
never match it. Both sides are therefore reduced to the same form: the
nine-digit Dutch national significant number (NSN, decision 0410). In text,
a run of at most three separators (space, ``-``, ``.``, ``/``, ``(``, ``)``)
between two digits is removed, and each maximal run of digits is read as
a number with an optional trunk or country prefix (``0``, ``31``, ``0031``,
``310``, ``00310``). Longer gaps, letters or other punctuation end a number,
so unrelated numbers in a sentence are not joined. In a value (the precise
check, :func:`text_numbers`) a run that touches a letter, digit or ``_``
(Unicode ``\\w``) is part of a word (a hex record key, "MRN0612345678"), not
a written phone number; the coarse pass over whole lines ignores that rule
(a superset: a JSON escape such as ``\\n`` puts a letter before a number in
the text that is not in the value).

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
_WORD_RUN = re.compile(r"(?<!\w)[0-9]+(?!\w)")
#: Longest digit run that can hold a number (``00310`` and nine digits).
LONGEST = 14

#: Byte tables for :meth:`bytes.translate` (a mask in one C pass, no NumPy gather):
#: 1 for a digit, for a separator.
_IS_DIGIT = bytes(int(b in b"0123456789") for b in range(256))
_IS_SEPARATOR = bytes(int(b in SEPARATORS) for b in range(256))
_IS_WORD = bytes(
    int((chr(b).isascii() and (chr(b).isalpha() or b == ord("_"))) or b >= 0x80) for b in range(256)
)


def _mask(body: bytes, table: bytes) -> np.ndarray:
    mask: np.ndarray = np.frombuffer(body.translate(table), dtype=np.bool_)
    return mask


def national_number(digits: str) -> str | None:
    """The NSN of a run of digits, or None when it is no (Dutch) phone number."""
    match = _NSN.match(digits)
    return match.group("nsn") if match else None


def run_phone_numbers_reference(values: Iterable[str]) -> set[str]:
    """The NSNs of the run's phone field values (several per value: ``;`` or ``,`` apart)."""
    found: set[str] = set()
    for value in values:
        for part in re.split(r"[;,]", value):
            nsn = national_number(re.sub(r"[^0-9]", "", part))
            if nsn is not None:
                found.add(nsn)
    return found


def run_phone_numbers(values: Iterable[str] | pa.Array) -> set[str]:
    """:func:`run_phone_numbers_reference` in Arrow (a million numbers; pinned by tests)."""
    column = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    parts = pc.list_flatten(pc.split_pattern_regex(column, "[;,]"))
    digits = pc.replace_substring_regex(parts, "[^0-9]", "")
    nsns = pc.struct_field(pc.extract_regex(digits, NSN), [0])
    return set(pc.unique(pc.drop_null(nsns)).to_pylist())


def text_numbers(text: str) -> set[str]:
    """The NSNs written in one value ``text``: runs that stand apart (the precise check)."""
    joined = _JOIN.sub("", text)
    return {nsn for run in _WORD_RUN.findall(joined) if (nsn := national_number(run)) is not None}


def _line_numbers(line: str) -> set[str]:
    """The NSNs of every run of ``line``, words or not (the coarse reading of a line)."""
    joined = _JOIN.sub("", line)
    return {nsn for run in _RUN.findall(joined) if (nsn := national_number(run)) is not None}


def phone_lines_reference(lines: pa.Array, numbers: Collection[str]) -> list[int]:
    """Indexes of ``lines`` that hold one of ``numbers`` (NSNs), line by line."""
    return [
        index
        for index, line in enumerate(lines.to_pylist())
        if line is not None and not _line_numbers(line).isdisjoint(numbers)
    ]


def _joinable(digit: np.ndarray, separator: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Positions of the separator bytes :data:`_JOIN` removes: runs of 1-3 between two
    digits of one line (``starts``: a mask of the bytes that begin a line)."""
    n = len(digit)
    # a digit followed by a separator of its own line: the few places a number may go on
    after = np.flatnonzero(digit[:-1] & separator[1:] & ~starts[1:])
    removed = []
    same_run = np.ones(len(after), dtype=bool)  # p+1..p+k are separators of p's line
    for k in (1, 2, 3):
        end = after + k + 1  # the digit that closes a run of k
        inside = end < n
        closes = np.zeros(len(after), dtype=bool)
        closes[inside] = digit[end[inside]] & ~starts[end[inside]]
        hit = after[same_run & closes]
        removed += [hit + j for j in range(1, k + 1)]
        if k < 3:
            more = np.zeros(len(after), dtype=bool)
            more[inside] = separator[end[inside]] & ~starts[end[inside]]
            same_run &= more
    if not removed:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(removed))


def _digit_runs(digit: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of each run of ``digit`` within one line long enough for a number.

    ``digit``: the digits and the separators joined between them, so a run is
    one written number; its bytes are 9 to :data:`LONGEST` digits and at most
    three separators between two of them.
    """
    n = len(digit)
    breaks = starts.copy()
    breaks[1:] |= ~digit[:-1]
    first = np.flatnonzero(digit & breaks)  # digits after a non-digit or a line start
    following = np.zeros(n, dtype=bool)
    following[:-1] = ~digit[1:] | starts[1:]
    following[-1] = True
    last = np.flatnonzero(digit & following) + 1  # exclusive
    length = last - first
    keep = (length >= 9) & (length <= LONGEST + 3 * (LONGEST - 1))
    return first[keep], last[keep]


def line_bytes(lines: pa.Array) -> tuple[bytes, np.ndarray]:
    """The bytes of a string array's lines end to end, and each line's start (plus the end).

    Both the guard's token pass and the phone pass work on the bytes of a chunk
    of lines at once; this is the one place that lays them out.
    """
    lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    offsets = offsets[lines.offset : lines.offset + len(lines) + 1]
    data = lines.buffers()[2]
    body = data[int(offsets[0]) : int(offsets[-1])].to_pybytes() if data is not None else b""
    return body, offsets - offsets[0]


def _number_runs(lines: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The digit runs of ``lines`` that may be numbers (:func:`_digit_runs`), and their lines."""
    nothing = (pa.array([], pa.large_string()), np.zeros(0, dtype=np.int64))
    body, offsets = line_bytes(lines)
    raw = np.frombuffer(body, dtype=np.uint8)

    def line_starts(size: int, at: np.ndarray) -> np.ndarray:
        mask = np.zeros(size, dtype=bool)
        mask[at[at < size]] = True
        return mask

    if not len(raw):
        return nothing
    starts = line_starts(len(raw), offsets[:-1])
    digit = _mask(body, _IS_DIGIT)
    removed = _joinable(digit, _mask(body, _IS_SEPARATOR), starts)
    if len(removed):  # the joined separators become part of their number's run
        digit = digit.copy()
        digit[removed] = True
    first, last = _digit_runs(digit, starts)
    joined = np.searchsorted(removed, last) - np.searchsorted(removed, first)
    digits = last - first - joined
    fits = (digits >= 9) & (digits <= LONGEST)  # a date "2026-10-01" joined is 8: no number
    first, last = first[fits], last[fits]
    if not len(first):
        return nothing
    bounds = np.empty(2 * len(first), dtype=np.int64)
    bounds[0::2], bounds[1::2] = first, last
    pieces = pa.LargeStringArray.from_buffers(
        len(bounds) - 1, pa.py_buffer(bounds - bounds[0]), pa.py_buffer(raw[first[0] :])
    )
    runs = pieces.take(pa.array(np.arange(0, len(bounds), 2)))  # the runs, not the gaps
    runs = pc.replace_substring_regex(runs, "[^0-9]", "")  # the joined separators
    return runs, np.searchsorted(offsets, first, side="right") - 1


def phone_lines(lines: pa.Array, numbers: Collection[str]) -> list[int]:
    """:func:`phone_lines_reference` over a chunk of lines at once (pinned by tests).

    Byte masks of digits and separators (a UTF-8 sequence holds no ASCII
    byte, so any text takes this path); a written number is a run of digits
    and the separators joined between them, and only runs long enough are
    taken out of the text and read as numbers, in Arrow.
    """
    if not numbers or not len(lines):
        return []
    if lines.null_count:
        return phone_lines_reference(lines, numbers)
    runs, line = _number_runs(lines)
    distinct = pc.unique(runs)
    nsns = pc.struct_field(pc.extract_regex(distinct, NSN), [0])
    known = set(numbers).intersection(pc.drop_null(nsns).to_pylist())
    if not known:
        return []
    present = pc.filter(distinct, pc.is_in(nsns, value_set=pa.array(sorted(known), pa.string())))
    hit = pc.is_in(runs, value_set=present).to_numpy(zero_copy_only=False)
    return [int(i) for i in np.unique(line[hit])]
