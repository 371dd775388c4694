"""Last check before a delivery is staged: none of the run's own identifiers is in its files.

The catalogue guard refuses mappings that deliver identity columns, but an
EHR still puts a BSN in a free-text field, or a patient number in a
"remarks" column. So, like :mod:`aanlevering.events.guard` for the event log,
the written delivery files are searched for the identifiers of *this* run's
patients, taken from the extract's identity tables: BSNs that pass the
elfproef, MRNs (patient numbers), birth and partner names and six-position
postcodes as tokens; phone numbers as digits (:mod:`aanlevering.output.phones`);
streets with house numbers, e-mail addresses and family names that are
ordinary words as phrases (:mod:`aanlevering.output.phrases`, decision 0411).
A hit blocks the delivery with :class:`IdentifierInDelivery` (exit code 2),
naming the file, column, kind and number of values, never the value.

Two passes keep it fast: a columnar pass over whole lines (Arrow tokenises
and looks every token up in the identifier sets) finds candidate lines; only
those are parsed, and each value is checked with its column (CSV header,
FHIR ``linkId`` or element path). Pseudonyms, record keys, resource ids,
references and code systems are ours, not the patient's, and are skipped.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import DataDictionary
from aanlevering.errors import ExtractError
from aanlevering.events.guard import elfproef_mask, passes_elfproef
from aanlevering.extract.model import ExtractedDataset
from aanlevering.output import phones as phone_numbers
from aanlevering.output import phrases as phrase_search
from aanlevering.output.common_words import COMMON_WORDS
from aanlevering.output.content import DeliveryInput
from aanlevering.output.phrases import Phrases
from aanlevering.output.result import OutputResult

log = logging.getLogger(__name__)

#: Shortest name token worth looking for (shorter ones are common words).
MIN_NAME = 4
#: Shortest patient-number token (shorter ones are years, counts, pieces of UUIDs).
MIN_NUMBER = 6
#: Bytes of a file scanned at once: what a chunk's token arrays cost in memory is a few
#: times this, and the guard runs at the run's peak (after the output is built).
CHUNK_BYTES = 16 << 20
#: CSV columns of our own pseudonyms (``pseudoniem_NGGV``, its key version and status).
PSEUDONYM_PREFIX = "pseudoniem_"

_SPLIT_ARROW = r"[^\p{L}\p{N}]+"
_SPLIT = re.compile(r"[\W_]+")
_POSTCODE = "[1-9][0-9]{3}[a-z]{2}"
#: One pass joins a BSN written 1234.56.782 and a postcode written 1012 nx into one token.
_JOINED = r"\b([0-9]{4})\.([0-9]{2})\.([0-9]{3})\b|\b([1-9][0-9]{3}) ([a-z]{2})\b"
_JOINED_AS = r"\1\2\3\4\5"
_JOINED_PY = re.compile(_JOINED)

#: JSON members that hold our own ids, references, code systems or metadata.
_SKIPPED_MEMBERS = frozenset(
    {"id", "reference", "fullUrl", "system", "url", "profile", "questionnaire", "meta", "linkId"}
)


class IdentifierInDelivery(ExtractError):
    """A delivery file holds an identifier of this run's patients; nothing is staged."""


class IdentifiersInFiles(IdentifierInDelivery):
    """The output guard found identifiers in the written files (:func:`check_delivery`).

    ``section``: what the hospital's report says of it (``output_guard``): files,
    columns, variables, kinds, counts and what to do, never a value.
    """

    def __init__(self, message: str, section: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.section = section


PHONE = "a phone number"
_NO_PHRASES = Phrases({}, frozenset())


@dataclass(frozen=True)
class RunIdentifiers:
    """The run's identifiers (never logged or shown).

    ``by_kind``: lower-case tokens, each identifying alone; ``phrases``: token
    sequences identifying together, found through their anchors;
    ``phones``: phone numbers as nine-digit NSNs.
    """

    by_kind: Mapping[str, frozenset[str]]
    phrases: Phrases = _NO_PHRASES
    phones: frozenset[str] = dataclass_field(default_factory=frozenset)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in self.by_kind.items())
        return f"RunIdentifiers({sizes}, {self.phrases!r}, phones: {len(self.phones)})"

    @property
    def tokens(self) -> frozenset[str]:
        """Every token the coarse pass looks for: each kind's, and the phrases' anchors."""
        return frozenset().union(*self.by_kind.values(), self.phrases.anchors)

    @cached_property
    def token_set(self) -> frozenset[str]:
        """:attr:`tokens`, built once per run (not per file or chunk)."""
        return self.tokens

    @property
    def empty(self) -> bool:
        """Whether there is nothing to search for."""
        return not self.token_set and not self.phones

    def kinds_in(self, text: str) -> set[str]:
        """The kinds of identifier one value (or line) ``text`` holds: the precise check."""
        words = _value_words(text)
        kinds = {kind for token in set(words) if (kind := self.kind_of(token)) is not None}
        if self.phrases.by_kind or self.phrases.titled:
            kinds |= self.phrases.kinds_in(words, text)
        if self.phones and not phone_numbers.text_numbers(text).isdisjoint(self.phones):
            kinds.add(PHONE)
        return kinds

    def candidates(self, lines: pa.Array, json_text: bool = False) -> list[int]:
        """Indexes of ``lines`` that may hold an identifier (the coarse pass, a superset).

        ``json_text``: the lines are JSON text (escapes are no part of a token).
        """
        found = set()
        if self.token_set:
            found.update(
                _fast_candidate_lines(lines, self.token_array, (self.token_set,), json_text)
            )
        if self.phones:
            found.update(phone_numbers.phone_lines(lines, self.phones))
        return sorted(found)

    @cached_property
    def token_array(self) -> pa.Array:
        """:attr:`tokens` as one Arrow array, built once per run (not per file)."""
        return pa.array(list(self.token_set), pa.string())

    def kind_of(self, token: str) -> str | None:
        """Which kind of identifier ``token`` is, or None."""
        return next((kind for kind, values in self.by_kind.items() if token in values), None)


def _values(datasets: Iterable[ExtractedDataset], fields: Iterable[str]) -> pa.Array:
    """The distinct non-null values of ``fields`` in the identity tables, as text, in Arrow.

    Why Arrow: every reader of them below works in Arrow; a million patient
    numbers made a Python set and then an Arrow array again cost about two
    seconds of the guard. The same values as :func:`_values_reference` (pinned by tests).
    """
    chunks = [
        chunk
        for dataset in datasets
        for field in fields
        if field in dataset.identity.column_names
        for chunk in pc.cast(dataset.identity.column(field), pa.string()).chunks
    ]
    if not chunks:
        return pa.array([], pa.string())
    return pc.unique(pc.drop_null(pa.chunked_array(chunks, pa.string())))


def _values_reference(datasets: Iterable[ExtractedDataset], fields: Iterable[str]) -> set[str]:
    """:func:`_values` as a Python set, value by value."""
    return {
        value
        for dataset in datasets
        for field in fields
        if field in dataset.identity.column_names
        for value in pc.cast(dataset.identity.column(field), pa.string()).to_pylist()
        if value is not None
    }


def text_column(values: Iterable[str] | pa.Array) -> pa.Array:
    """``values`` as an Arrow text column (as it is when it is one already)."""
    if isinstance(values, pa.Array):
        return values.cast(pa.string())
    return pa.array(list(values), pa.string())


def vocabulary(dictionary: DataDictionary) -> set[str]:
    """Tokens the delivery itself is made of: names, codes and labels of the dictionary."""
    words = [dictionary.id, dictionary.name]
    for dataset in dictionary.datasets:
        words += [dataset.name, *dataset.variable_names]
    for option_set in dictionary.option_sets.values():
        words += [o.code for o in option_set.options] + [o.label for o in option_set.options]
    return {token for word in words for token in _SPLIT.split(word.lower()) if token}


def _elfproef_bsns_reference(values: Iterable[str]) -> set[str]:
    """Nine-digit BSNs (eight digits: a lost leading zero) that pass the elfproef, per value."""
    found = set()
    for value in values:
        digits = re.sub(r"\D", "", value)
        digits = digits.zfill(9) if len(digits) == 8 else digits
        if passes_elfproef(digits):
            found.add(digits)
    return found


def _elfproef_digits(column: pa.Array) -> pa.Array | None:
    """The values of the ASCII text ``column`` that pass the elfproef, as nine digits
    (eight digits: a lost leading zero), in Arrow; None when a value is not ASCII.

    A column of digits only (a BSN column as exported) is not rewritten by the regular
    expression that drops every other character: it has none to drop.
    """
    if not pc.all(pc.string_is_ascii(column)).as_py():
        return None
    plain = pc.all(pc.fill_null(pc.ascii_is_decimal(column), False)).as_py()
    digits = column if plain else pc.replace_substring_regex(column, r"[^0-9]", "")
    digits = pc.filter(digits, pc.is_in(pc.utf8_length(digits), value_set=pa.array([8, 9])))
    digits = pc.utf8_lpad(digits, 9, "0")
    if not len(digits):
        return digits
    passes = elfproef_mask(digits)  # every value has nine digits
    return pc.filter(digits, pa.array(passes))


def _elfproef_bsns(values: Iterable[str] | pa.Array) -> set[str]:
    """:func:`_elfproef_bsns_reference` over a column at once (a million BSNs is a second
    of Python one by one); pinned to it by tests."""
    column = text_column(values)
    if not len(column):
        return set()
    digits = _elfproef_digits(column)
    if digits is None:
        return _elfproef_bsns_reference(column.to_pylist())
    return set(digits.to_pylist())


def identifier_tokens_reference(
    values: Iterable[str], shortest: int, letters: bool, vocabulary: set[str]
) -> set[str]:
    """The tokens of ``values`` the guard searches for, value by value (the reference)."""
    return {
        token
        for value in values
        for token in _SPLIT.split(value.lower())
        if len(token) >= shortest
        and token not in vocabulary
        and (not letters or not token.isdigit())
    }


def identifier_tokens(
    values: Iterable[str] | pa.Array, shortest: int, letters: bool, vocabulary: set[str]
) -> set[str]:
    """:func:`identifier_tokens_reference`, with the ASCII values split in Arrow.

    A million MRNs split one by one in Python cost seconds. For ASCII text
    Python's lower-casing and ``[\\W_]+`` split are Arrow's ``ascii_lower``
    and ``[^a-z0-9]+``; other values take the reference. Pinned by tests.
    """
    found, kept = _identifier_token_parts(values, shortest, letters, vocabulary)
    found.update(kept.to_pylist())
    return found


def _identifier_token_parts(
    values: Iterable[str] | pa.Array, shortest: int, letters: bool, vocabulary: set[str]
) -> tuple[set[str], pa.Array]:
    """:func:`identifier_tokens` in two parts: the non-ASCII values' tokens (the reference)
    and the ASCII values' distinct tokens, filtered in Arrow (decision 0895)."""
    column = text_column(values)
    if not len(column):
        return set(), pa.array([], pa.string())
    ascii_mask = pc.string_is_ascii(column)
    found = identifier_tokens_reference(
        pc.filter(column, pc.invert(ascii_mask)).to_pylist(), shortest, letters, vocabulary
    )
    split = pc.split_pattern_regex(pc.ascii_lower(pc.filter(column, ascii_mask)), "[^a-z0-9]+")
    flat = pc.list_flatten(split)
    kept = pc.unique(pc.filter(flat, pc.greater_equal(pc.utf8_length(flat), shortest)))
    if vocabulary:
        listed = pa.array(sorted(vocabulary), pa.string())
        kept = pc.filter(kept, pc.invert(pc.is_in(kept, value_set=listed)))
    if letters:  # an ASCII token's isdigit() is ascii_is_decimal (non-empty, 0-9 only)
        kept = pc.filter(kept, pc.invert(pc.ascii_is_decimal(kept)))
    return found, kept


def number_tokens(values: Iterable[str] | pa.Array, vocabulary: set[str]) -> set[str]:
    """The patient-number tokens the guard searches for: :func:`identifier_tokens` of
    ``values`` and their forms :func:`without_leading_zeros` (decision 0601).

    Why: the forms without leading zeros were a Python loop over every token, a
    million patient numbers and MRNs at a million patients; the ASCII tokens' are
    taken in Arrow (decision 0895). The same set as :func:`number_tokens_reference`.
    """
    found, kept = _identifier_token_parts(values, MIN_NUMBER, False, vocabulary)
    found |= without_leading_zeros(found)
    zero = pc.and_(pc.starts_with(kept, "0"), pc.ascii_is_decimal(kept))
    stripped = pc.utf8_ltrim(pc.filter(kept, zero), characters="0")
    found.update(kept.to_pylist())
    found.update(
        pc.filter(stripped, pc.greater_equal(pc.utf8_length(stripped), MIN_NUMBER)).to_pylist()
    )
    return found


def number_tokens_reference(values: Iterable[str], vocabulary: set[str]) -> set[str]:
    """:func:`number_tokens` value by value and token by token (the reference of its tests)."""
    numbers = identifier_tokens_reference(values, MIN_NUMBER, False, vocabulary)
    return numbers | without_leading_zeros(numbers)


def postcode_tokens_reference(values: Iterable[str]) -> set[str]:
    """Postcodes of ``values`` as the guard searches for them (``1234ab``), value by value."""
    return {
        compact
        for value in values
        if re.fullmatch(_POSTCODE, compact := value.replace(" ", "").lower())
    }


def postcode_tokens(values: Iterable[str] | pa.Array) -> set[str]:
    """:func:`postcode_tokens_reference`, the ASCII values in Arrow (pinned by tests)."""
    column = text_column(values)
    ascii_mask = pc.string_is_ascii(column)
    found = postcode_tokens_reference(pc.filter(column, pc.invert(ascii_mask)).to_pylist())
    compact = pc.ascii_lower(pc.replace_substring(pc.filter(column, ascii_mask), " ", ""))
    matching = pc.filter(compact, pc.match_substring_regex(compact, f"^{_POSTCODE}$"))
    found.update(pc.unique(matching).to_pylist())
    return found


def without_leading_zeros(tokens: Iterable[str]) -> set[str]:
    """Patient numbers with leading zeros as a number column writes them (decision 0601).

    ``0069386181`` mapped by mistake onto an integer or decimal variable goes out as
    ``69386181``: the same patient to anyone holding the EHR, but not the token the
    guard looked for. Only numbers that stay :data:`MIN_NUMBER` digits long are added.
    """
    return {
        stripped
        for token in tokens
        if token.isdigit()
        and token.startswith("0")
        and len(stripped := token.lstrip("0")) >= MIN_NUMBER
    }


def run_bsns_reference(datasets: Iterable[ExtractedDataset]) -> frozenset[str]:
    """:func:`run_bsns` value by value (the reference its tests pin it to)."""
    bsns = set()
    for digits in _elfproef_bsns_reference(_values_reference(list(datasets), ("bsn",))):
        bsns.add(digits)
        if digits.startswith("0"):
            bsns.add(digits[1:])
    return frozenset(bsns)


def run_bsns(datasets: Iterable[ExtractedDataset]) -> frozenset[str]:
    """The run's own BSNs as nine digits (and without a leading zero), as the guard
    searches for them.

    Made twice per run (the probable-BSN check before writing, the guard after it): the
    leading-zero forms are taken in Arrow, not by a Python loop over every BSN
    (decision 0891). The same set as :func:`run_bsns_reference` (pinned by tests).
    """
    tables = list(datasets)
    column = _values(tables, ("bsn",))
    digits = _elfproef_digits(column) if len(column) else pa.array([], pa.string())
    if digits is None:  # a value that is not ASCII: value by value
        return run_bsns_reference(tables)
    zero = pc.starts_with(digits, "0")
    shorter = pc.utf8_slice_codeunits(pc.filter(digits, zero), 1)
    return frozenset(pa.concat_arrays([digits, shorter]).to_pylist())


def run_identifiers(
    datasets: Mapping[str, ExtractedDataset], dictionary: DataDictionary
) -> RunIdentifiers:
    """The identifiers to search the delivery for, from the identity tables of ``datasets``."""
    tables = list(datasets.values())
    bsns = run_bsns(tables)
    words = vocabulary(dictionary)

    def tokens(values: pa.Array, shortest: int, letters: bool) -> set[str]:
        return identifier_tokens(values, shortest, letters, words)

    numbers = number_tokens(_values(tables, ("mrn", "patient_id")), words)
    postcodes = postcode_tokens(_values(tables, ("postcode",)))
    family = tokens(_values(tables, ("own_name", "partner_name")), MIN_NAME, letters=True)
    names = frozenset(family - COMMON_WORDS)  # the rest only as a phrase (decision 0411)
    return RunIdentifiers(
        {
            "a BSN": frozenset(bsns),
            "a patient number": frozenset(numbers),
            "a name": names,
            "a postcode": frozenset(postcodes),
        },
        phrase_search.build((t.identity for t in tables), names),
        frozenset(phone_numbers.run_phone_numbers(_values(tables, ("phone",)))),
    )


def _normalised(text: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(pc.utf8_lower(text), _JOINED, _JOINED_AS)


#: JSON escapes whose characters are no part of a token: two-character ones (``\\n``,
#: ``\\"``, ``\\\\``, ...) and control characters (``\\u0000``-``\\u001f``).
_ESCAPE_TWO = r'\\["\\/bfnrt]'
_ESCAPE_CONTROL = r"\\u00[01][0-9a-fA-F]"


def _unescaped(lines: pa.Array) -> pa.Array:
    """``lines`` of JSON text with each escape above blanked, byte for byte.

    Why: ``"regel\\nJansen"`` holds the value "regel", newline, "Jansen", but its
    text tokenised as it stands gives ``njansen``, and the coarse pass missed the
    name. Two passes are one left-to-right pass: the first never takes a ``u``.
    """
    lines = pc.replace_substring_regex(lines, _ESCAPE_TWO, "  ")
    return pc.replace_substring_regex(lines, _ESCAPE_CONTROL, "      ")


def _candidate_lines(lines: pa.Array, tokens: pa.Array, json_text: bool = False) -> list[int]:
    """Indexes of ``lines`` that hold at least one token of ``tokens`` (coarse pass).

    The reference: regular expressions over every line. :func:`_fast_candidate_lines`
    gives the same indexes (pinned by tests) and is what :func:`scan_file` runs.
    ``json_text``: the lines are JSON text, whose escapes are no part of a token.
    """
    if json_text:
        lines = _unescaped(lines)
    split = pc.split_pattern_regex(_normalised(lines), _SPLIT_ARROW)
    flat = pc.list_flatten(split)
    hit = pc.is_in(flat, value_set=tokens)
    if not pc.any(hit).as_py():
        return []
    parents = pc.filter(pc.list_parent_indices(split), hit)
    return sorted(set(parents.to_pylist()))


#: Byte tables of the fast pass: ``\\b`` word bytes, digits, letters, and the token
#: table (``[0-9a-z]`` kept, ``A-Z`` lower-cased, every other byte a space).
_WORD = np.zeros(256, dtype=bool)
_DIGIT = np.zeros(256, dtype=bool)
_LETTER = np.zeros(256, dtype=bool)
_TOKEN = bytearray(b" " * 256)
for _byte in b"0123456789":
    _WORD[_byte] = _DIGIT[_byte] = True
    _TOKEN[_byte] = _byte
for _byte in b"abcdefghijklmnopqrstuvwxyz":
    _WORD[_byte] = _WORD[_byte - 32] = _LETTER[_byte] = _LETTER[_byte - 32] = True
    _TOKEN[_byte] = _TOKEN[_byte - 32] = _byte
_WORD[ord("_")] = True
_TOKEN_TABLE = bytes(_TOKEN)


def _joined_separators(raw: np.ndarray, line_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Positions of the separators ``_JOINED`` removes in ASCII text: the dots of
    1234.56.782 and the space of 1012 nx, each a whole word within one line."""
    n = len(raw)

    def at(positions: np.ndarray, table: np.ndarray) -> np.ndarray:
        inside = (positions >= 0) & (positions < n)
        out = np.zeros(len(positions), dtype=bool)
        out[inside] = table[raw[positions[inside]]]
        return out

    def bounded(start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Word boundary before ``start`` and after ``end``, both in one line."""
        line = line_of(start)
        before = (line != line_of(start - 1)) | ~at(start - 1, _WORD)
        after = (line != line_of(end + 1)) | ~at(end + 1, _WORD)
        same: np.ndarray = (line == line_of(end)) & before & after
        return same

    spaces = np.flatnonzero(raw == ord(" "))
    start = spaces - 4
    postcode = at(start, _DIGIT) & (raw[np.maximum(start, 0)] != ord("0"))
    for k in (1, 2, 3):
        postcode &= at(start + k, _DIGIT)
    postcode &= at(spaces + 1, _LETTER) & at(spaces + 2, _LETTER)
    spaces = spaces[postcode]
    spaces = spaces[bounded(spaces - 4, spaces + 2)]
    dots = np.flatnonzero(raw == ord("."))
    start = dots - 4
    bsn = np.ones(len(dots), dtype=bool)
    for k in (0, 1, 2, 3, 5, 6, 8, 9, 10):
        bsn &= at(start + k, _DIGIT)
    second = dots + 3
    bsn &= (second < n) & (raw[np.minimum(second, n - 1)] == ord("."))
    dots = dots[bsn]
    dots = dots[bounded(dots - 4, dots + 6)]
    return np.sort(np.concatenate((spaces, dots, dots + 3)))


def _json_escapes(raw: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Positions of the bytes :func:`_unescaped` blanks (``starts``: bytes that begin a line).

    A run of backslashes within a line is pairs (``\\\\``, blanked); an odd run's
    last backslash escapes the next byte when that is one of ``"\\/bfnrt``, or
    ``u00[01]X`` when the five bytes after it are a control character.
    """
    n = len(raw)
    back = raw == ord("\\")
    first = np.flatnonzero(back & (starts | ~np.concatenate(([False], back[:-1]))))
    closes = np.concatenate((~back[1:] | starts[1:], [True]))
    last = np.flatnonzero(back & closes) + 1  # exclusive
    pairs = (last - first) // 2 * 2
    blank = [
        np.repeat(first, pairs)
        + (np.arange(pairs.sum()) - np.repeat(np.cumsum(pairs) - pairs, pairs))
    ]
    odd = (last - first) % 2 == 1
    lone, after = last[odd] - 1, last[odd]
    inside = after < n
    lone, after = lone[inside], after[inside]
    after_ok = ~starts[after]
    two = after_ok & np.isin(raw[after], np.frombuffer(b'"/bfnrt', dtype=np.uint8))
    blank += [lone[two], after[two]]
    control = after_ok & (raw[after] == ord("u")) & (after + 4 < n)
    candidates = after[control]
    ok = np.ones(len(candidates), dtype=bool)
    for k, allowed in ((1, b"0"), (2, b"0"), (3, b"01"), (4, b"0123456789abcdefABCDEF")):
        ok &= np.isin(raw[candidates + k], np.frombuffer(allowed, dtype=np.uint8))
        ok &= ~starts[candidates + k]
    blank += [lone[control][ok]] + [candidates[ok] + k for k in range(5)]
    return np.concatenate(blank)


def _fast_candidate_lines(
    lines: pa.Array,
    tokens: pa.Array,
    known: Collection[frozenset[str]] = (),
    json_text: bool = False,
) -> list[int]:
    """What :func:`_candidate_lines` returns, with byte tables instead of regexes.

    Why: the regex pass ran at about 20 MB/s, minutes for a 1M-patient delivery.
    ASCII lines are lower-cased and tokenised with one byte translation and a
    whitespace split, joined (``_JOINED``) with NumPy; the run's identifiers are
    looked up among the chunk's distinct tokens (a small hash set) rather than
    the other way round, or, given ``known`` (the run's token sets, already in
    memory), the chunk's distinct tokens are looked up in those. Lines with
    other bytes take the reference pass.
    """
    if lines.null_count or not len(lines):
        return _candidate_lines(lines, tokens, json_text)
    body, offsets = phone_numbers.line_bytes(lines)
    raw = np.frombuffer(body, dtype=np.uint8)
    if json_text and b"\\" in body:
        starts = np.zeros(len(raw), dtype=bool)
        starts[offsets[:-1][offsets[:-1] < len(raw)]] = True
        raw = raw.copy()
        raw[_json_escapes(raw, starts)] = ord(" ")
        body = raw.tobytes()
    found: set[int] = set()
    other = np.zeros(0, dtype=np.int64)
    if not body.isascii():
        other = np.unique(np.searchsorted(offsets, np.flatnonzero(raw >= 0x80), side="right") - 1)
        found.update(int(other[i]) for i in _candidate_lines(lines.take(other), tokens, json_text))

    def line_of(positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(offsets, positions, side="right") - 1

    removed = _joined_separators(raw, line_of)
    mapped = np.frombuffer(body.translate(_TOKEN_TABLE), dtype=np.uint8)
    if len(removed):
        keep = np.ones(len(mapped), dtype=bool)
        keep[removed] = False
        mapped = mapped[keep]
        offsets = offsets - np.searchsorted(removed, offsets, side="left")
    text = pa.LargeStringArray.from_buffers(
        len(lines), pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(mapped)
    )
    split = pc.ascii_split_whitespace(text)
    flat = pc.list_flatten(split)
    distinct = pc.unique(flat)
    if known:
        # Set intersection runs in C: a Python test per distinct token was half the guard.
        listed = distinct.to_pylist()
        words: set[str] = set().union(*(kind.intersection(listed) for kind in known))
        present = pa.array(sorted(words), pa.string())
    else:
        present = pc.filter(tokens, pc.is_in(tokens, value_set=distinct))
    if len(present):
        hit = pc.is_in(flat, value_set=present)
        parents = pc.filter(pc.list_parent_indices(split), hit).to_numpy()
        found.update(int(i) for i in np.setdiff1d(np.unique(parents), other))
    return sorted(found)


def _lines(path: Path) -> Iterator[tuple[int, pa.Array]]:
    """(number of the first line, lines) per chunk of the file, read without Python strings."""
    first = 0
    with path.open("rb") as handle:
        rest = b""
        while True:
            data = handle.read(CHUNK_BYTES)
            chunk = rest + data
            if not data:
                if chunk:
                    yield first, pa.array([chunk.decode("utf-8", errors="replace")])
                return
            cut = chunk.rfind(b"\n")
            if cut < 0:
                rest = chunk
                continue
            body, rest = chunk[: cut + 1], chunk[cut + 1 :]
            raw = np.frombuffer(body, dtype=np.uint8)
            ends = np.flatnonzero(raw == 10)
            offsets = np.concatenate(([0], ends + 1)).astype(np.int64)
            count = len(ends)
            array = pa.LargeStringArray.from_buffers(
                count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(body)
            )
            yield first, array.cast(pa.string())
            first += count


@dataclass(frozen=True)
class Hit:
    """Where an identifier was found: file, column and kind, never the value.

    ``values``: how many values of the column hold it (distinct values for a file
    checked by its noted values); not part of a hit's identity.
    """

    file: str
    column: str
    kind: str
    values: int = dataclass_field(default=1, compare=False)


def _value_words(value: str) -> list[str]:
    """The tokens of one value, in order (as the phrases are compared)."""
    lowered = _JOINED_PY.sub(lambda m: "".join(g or "" for g in m.groups()), value.lower())
    return [token for token in _SPLIT.split(lowered) if token]


def _value_tokens(value: str) -> set[str]:
    return set(_value_words(value))


def _json_leaves(value: Any, path: str, within: str) -> Iterator[tuple[str, str]]:
    """(column, text) of every string or number leaf worth checking in a FHIR resource.

    ``within``: the resource type (``Patient.address.postalCode``); answers of
    a QuestionnaireResponse are named by their item (``item opmerking``).
    """
    if isinstance(value, dict):
        if not path and "resourceType" in value:
            within = str(value["resourceType"])
        if within == "QuestionnaireResponse" and "linkId" in value and "answer" in value:
            for answer in value["answer"]:
                for _, text in _json_leaves(answer, "answer", "item"):
                    yield f"item {value['linkId']}", text
            return
        for key, item in value.items():
            if key in _SKIPPED_MEMBERS or key == "resourceType":
                continue
            if within == "Patient" and key == "identifier":
                continue  # our pseudonyms
            if key == "resource" and isinstance(item, dict):
                yield from _json_leaves(item, "", "")
                continue
            yield from _json_leaves(item, f"{path}.{key}" if path else key, within)
    elif isinstance(value, list):
        for item in value:
            yield from _json_leaves(item, path, within)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield (f"{within}.{path}" if within else path), str(value)


def leaf_texts(resource_type: str, key: str, value: Any) -> Iterator[tuple[str, str]]:
    """(column, text) of every leaf :func:`_json_leaves` checks in one top-level element.

    What the text scan finds in the element ``key`` of a ``resource_type`` line: its
    leaves are tokenised member by member, so the leaves of a line are those of its
    elements together (``resourceType``, ``id`` and ``meta`` are skipped members).
    Not for QuestionnaireResponses and Patients, whose leaves are named differently.
    """
    if only_skipped(value):  # a reference alone: nothing to check
        return
    yield from _json_leaves({"resourceType": resource_type, key: value}, "", "")


def only_skipped(value: Any) -> bool:
    """Whether ``value`` is an object (or a list of them) of skipped members only."""
    if type(value) is dict:
        return _SKIPPED_MEMBERS.issuperset(value)
    if type(value) is list:
        return all(type(item) is dict and _SKIPPED_MEMBERS.issuperset(item) for item in value)
    return False


def _csv_cells(line: str, header: list[str], skipped: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    row = next(csv.reader(io.StringIO(line), delimiter=";"), [])
    if len(row) != len(header):
        # part of a value that spans lines: the line as a whole names no column
        yield "(a value written over several lines)", line
        return
    for column, text in zip(header, row, strict=True):
        if not column.startswith(skipped):
            yield column, text


def _json_cells(text: str, name: str) -> Iterator[tuple[str, str]]:
    try:
        resource = json.loads(text)
    except ValueError:
        yield name, text  # not a whole JSON document: the text counts as it is
        return
    yield from _json_leaves(resource, "", "")


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle, delimiter=";"), [])


def scan_file(path: Path, identifiers: RunIdentifiers, skipped: tuple[str, ...] = ()) -> list[Hit]:
    """Every (column, kind) of ``path`` that holds one of ``identifiers``.

    ``skipped``: CSV column-name prefixes that hold our own pseudonyms.
    """
    if identifiers.empty:
        return []
    header = _csv_header(path) if path.suffix == ".csv" else None
    cells: list[tuple[str, str]] = []
    candidates = False
    for first, lines in _lines(path):
        for index in identifiers.candidates(lines, json_text=header is None):
            candidates = True
            line = str(lines[index]).rstrip("\r\n")
            if header is not None:
                if first + index > 0:  # the header names variables, not people
                    cells.extend(_csv_cells(line, header, skipped))
            elif path.suffix == ".ndjson":
                cells.extend(_json_cells(line, path.name))
    if candidates and header is None and path.suffix != ".ndjson":
        # a Bundle (or another JSON document) is checked as a whole
        cells.extend(_json_cells(path.read_text(encoding="utf-8"), path.name))
    counts: Counter[tuple[str, str]] = Counter()
    for column, text in cells:
        for kind in identifiers.kinds_in(text):
            counts[(column, kind)] += 1
    return [Hit(path.name, column, kind, n) for (column, kind), n in counts.items()]


#: JSON literals whose value is their own text (ASCII string without escapes, integer): their
#: tokens are taken in Arrow; every other literal is decoded and tokenised one by one.
_PLAIN_STRING = r'^"[ !#-\[\]-~]*"$'
_INTEGER = r"^-?(0|[1-9][0-9]*)$"


def _literal_values(literals: pa.Array) -> Iterator[str]:
    """The text the guard's JSON pass would tokenise for each literal (booleans give none)."""
    for literal in literals.to_pylist():
        value = json.loads(literal)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            yield str(value)


def literal_tokens(literals: pa.Array) -> set[str]:
    """Every token :func:`_value_tokens` finds in the values of ``literals`` (JSON texts).

    What :func:`scan_file` would find parsing each line of a file joined from
    these literals: a plain literal's value is its own text (without quotes),
    for ASCII text Arrow's lower-casing, ``_JOINED`` and a split on anything
    but ``[a-z0-9]`` are Python's; the rest go through :func:`json.loads`.
    Pinned to the text pass by tests.
    """
    literals = pc.drop_null(literals)
    plain_string = pc.match_substring_regex(literals, _PLAIN_STRING)
    integer = pc.match_substring_regex(literals, _INTEGER)
    plain = pc.or_(plain_string, integer)
    found: set[str] = set()
    for value in _literal_values(pc.filter(literals, pc.invert(plain))):
        found |= _value_tokens(value)
    values = pc.if_else(plain_string, pc.utf8_slice_codeunits(literals, 1, -1), literals).filter(
        plain
    )
    if len(values):
        split = pc.split_pattern_regex(_normalised(values), r"[^a-z0-9]+")
        found.update(t for t in pc.unique(pc.list_flatten(split)).to_pylist() if t)
    return found


#: The invariant behind :func:`scan_values`, checked on every noted file: windows of its text
#: (start, two in the middle, end) are parsed and each leaf must be covered by what was noted.
SAMPLE_WINDOWS = 4
SAMPLE_WINDOW_BYTES = 512 * 1024


def _sampled_lines(path: Path) -> Iterator[bytes]:
    """Whole lines from :data:`SAMPLE_WINDOWS` windows spread over the file."""
    size = path.stat().st_size
    starts = sorted(
        {
            min(max(0, size - SAMPLE_WINDOW_BYTES), (size * k) // max(1, SAMPLE_WINDOWS - 1))
            for k in range(SAMPLE_WINDOWS)
        }
    )
    with path.open("rb") as handle:
        for start in starts:
            handle.seek(start)
            window = handle.read(SAMPLE_WINDOW_BYTES)
            lines = window.split(b"\n")
            if start > 0:
                lines = lines[1:]  # the window began inside a line
            if start + len(window) < size:
                lines = lines[:-1]  # and may end inside one
            yield from (line for line in lines if line.strip())


def sampled_leaf_tokens(path: Path) -> dict[str, set[str]]:
    """Per column, the tokens of every leaf in sampled windows of the written ``path``."""
    found: dict[str, set[str]] = {}
    for line in _sampled_lines(path):
        for column, text in _json_cells(line.decode("utf-8", errors="replace"), path.name):
            found.setdefault(column, set()).update(_value_tokens(text))
    return found


def unnoted_leaf(path: Path, noted_tokens: Mapping[str, set[str]]) -> str | None:
    """The column of a leaf in sampled lines of ``path`` that the noted literals do not cover.

    Why: checking values instead of text (decision 0300) is only as good as
    the writer's notes. A writer that puts anything else into a noted file
    (a new element, source text) breaks that silently; parsing a few windows
    of the written text and checking every leaf's tokens against the noted
    ones catches such a writer on every run, for milliseconds.
    """
    for column, tokens in sampled_leaf_tokens(path).items():
        noted = noted_tokens.get(column)
        if noted is None or not tokens <= noted:
            return column
    return None


def _checked_value_hits(
    path: Path, columns: Mapping[str, pa.Array], identifiers: RunIdentifiers
) -> tuple[list[Hit], str | None]:
    """:func:`scan_values` after :func:`unnoted_leaf`'s check, one column's tokens at a time.

    Returns the hits, or the first column the notes do not cover (then the
    hits are not complete and the caller scans the text).
    """
    sampled = sampled_leaf_tokens(path)
    missing = sorted(set(sampled) - set(columns))
    if missing:
        return [], missing[0]
    hits: list[Hit] = []
    for column, literals in columns.items():
        tokens = literal_tokens(literals)  # a column at a time: 1M distinct record keys at 1M
        if not sampled.get(column, set()) <= tokens:
            return [], column
        hits += _column_hits(path.name, column, literals, tokens, identifiers)
    return hits, None


def scan_values(
    name: str, columns: Mapping[str, pa.Array], identifiers: RunIdentifiers
) -> list[Hit]:
    """Every (column, kind) of the file ``name`` whose written literals hold one of ``identifiers``.

    For a file joined only from template text (ids, references, code systems:
    ours) and ``columns`` (the distinct JSON literals written per column, as
    the writer noted them): what :func:`scan_file` finds in its text, or
    more (decision 0300).
    """
    return [
        hit
        for column, literals in columns.items()
        for hit in _column_hits(name, column, literals, literal_tokens(literals), identifiers)
    ]


def literal_texts(literals: pa.Array) -> pa.Array:
    """The value of each JSON literal as text (null for booleans and nulls), aligned with them.

    Plain literals (:data:`_PLAIN_STRING`, :data:`_INTEGER`) in Arrow, the rest
    through :func:`json.loads` one by one, as :func:`literal_tokens` reads them.
    """
    plain_string = pc.fill_null(pc.match_substring_regex(literals, _PLAIN_STRING), False)
    integer = pc.fill_null(pc.match_substring_regex(literals, _INTEGER), False)
    texts = pc.if_else(plain_string, pc.utf8_slice_codeunits(literals, 1, -1), literals)
    other = pc.and_(pc.invert(pc.or_(plain_string, integer)), pc.is_valid(literals))
    if not pc.any(other).as_py():
        return texts
    decoded = []
    for literal in pc.filter(literals, other).to_pylist():  # escapes, non-ASCII, decimals
        value = json.loads(literal)
        plain = isinstance(value, str | int | float) and not isinstance(value, bool)
        decoded.append(str(value) if plain else None)
    return pc.replace_with_mask(texts, other, pa.array(decoded, pa.string()))


def _column_hits(
    name: str, column: str, literals: pa.Array, tokens: set[str], identifiers: RunIdentifiers
) -> list[Hit]:
    """The hits of one column of noted literals whose tokens are ``tokens``.

    Tokens that identify alone are found in ``tokens`` (a set intersection, in C).
    Phrases and phone numbers need the values themselves: those are read only when
    a phrase's anchor is among ``tokens`` or the run has phone numbers, and only
    the values the coarse pass picks are checked one by one (also to count them).
    """
    kinds = {
        kind
        for token in identifiers.token_set.intersection(tokens)
        if (kind := identifiers.kind_of(token)) is not None
    }
    counts: Counter[str] = Counter()
    by_token = bool(kinds) or not identifiers.phrases.anchors.isdisjoint(tokens)
    if by_token or identifiers.phones:
        texts = pc.drop_null(literal_texts(pc.drop_null(literals)))
        if by_token:
            picked = identifiers.candidates(texts)
        else:  # only a phone number can be there: the token pass would find nothing
            picked = phone_numbers.phone_lines(texts, identifiers.phones)
        for index in picked:
            counts.update(identifiers.kinds_in(texts[index].as_py()))
    return [Hit(name, column, kind, max(1, counts[kind])) for kind in sorted(kinds | set(counts))]


def check_delivery(folder: Path, output: OutputResult, content: DeliveryInput) -> None:
    """Refuse (:class:`IdentifierInDelivery`, exit 2) delivery files holding run identifiers.

    Called by the pipeline right after the files are written and before the
    manifest is made: ``output`` names the files under ``folder``,
    ``content`` is what they were written from (its identity tables give the
    identifiers). The message names file, column, kind of identifier and how
    many values hold it, never the value. The files are removed before raising.
    """
    identifiers = run_identifiers(content.datasets, content.context.dictionary)
    hits: list[Hit] = []
    for item in output.files:
        built = output.built.get(item.name)
        path = folder / item.name
        if built is not None:  # joined from checked values: no need to read it back
            value_hits, unnoted = _checked_value_hits(path, built, identifiers)
            if unnoted is None:
                hits += value_hits
                continue
            log.warning(
                "output guard: %s holds values of %s that its writer did not note; "
                "scanning its whole text instead",
                item.name,
                unnoted,
            )
        hits += scan_file(path, identifiers, (PSEUDONYM_PREFIX,))
    if hits:
        from aanlevering.output import guard_records

        for item in output.files:  # they hold identifiers: they must not linger in staging
            (folder / item.name).unlink(missing_ok=True)
        where = "; ".join(
            f"file {h.file}, column {h.column}: {h.kind} in {h.values} value(s)" for h in hits[:10]
        )
        # Records per variable (a noted file counts distinct values): the EHR's view (0940).
        records = guard_records.records_holding(content.datasets, identifiers)
        in_records = f"; in the records: {guard_records.shown(records)}" if records else ""
        kinds = {h.kind for h in hits} | {r.kind for r in records}
        raise IdentifiersInFiles(
            f"registration {content.context.registration_id}: delivery blocked, "
            f"{len(hits)} column(s) of the delivery files hold an identifier of this run's "
            f"patients ({where}{in_records}): {guard_records.advice(kinds)}; "
            "nothing was staged",
            guard_records.report_section(hits, records),
        )
    log.info("output guard: %d file(s) hold none of the run's identifiers", len(output.files))
