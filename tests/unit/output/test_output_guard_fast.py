"""The fast coarse pass of the output guard finds exactly the lines the regex pass finds.

:func:`_fast_candidate_lines` (byte tables, NumPy) replaced :func:`_candidate_lines`
(regexes over every line) in :func:`scan_file`; these tests pin the two together on
random and edge lines: joined BSNs and postcodes at line starts and ends, next to
word bytes, non-ASCII lines, lines without a newline, sliced arrays.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aanlevering.output.guard import (
    RunIdentifiers,
    _candidate_lines,
    _fast_candidate_lines,
    _lines,
    scan_file,
)

TOKENS = ["123456782", "012345672", "12345672", "1012nx", "9711lm", "jansen", "mrn0012345", "éva"]
PIECES = [
    "1234.56.782",
    "0123.45.672",
    "1012 nx",
    "1012 NX",
    "9711 lm",
    "0711 lm",
    "1012  nx",
    "1012nx",
    "Jansen",
    "JANSEN",
    "jansen_",
    "MRN0012345",
    "mrn-0012345",
    "123456782",
    "x1234.56.782",
    "1234.56.782x",
    "1234.56.7821",
    ".",
    " ",
    "_",
    "-",
    ":",
    '"',
    "a",
    "1",
    "é",
    "Éva",
    "İ",
    "\u00a0",
    "\r",
    "9",
    "NX",
    "56.782",
]


def _both(lines: list[str]) -> tuple[list[int], list[int]]:
    array = pa.array(lines, pa.string())
    tokens = pa.array(TOKENS, pa.string())
    return _candidate_lines(array, tokens), _fast_candidate_lines(array, tokens)


line_text = st.lists(st.sampled_from(PIECES), max_size=12).map("".join) | st.text(max_size=40)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(line_text, st.booleans()), min_size=1, max_size=12))
def test_fast_pass_finds_the_lines_of_the_regex_pass(lines: list[tuple[str, bool]]) -> None:
    texts = [text + ("\n" if newline else "") for text, newline in lines]
    reference, fast = _both(texts)
    assert fast == reference


def test_edge_lines() -> None:
    texts = [
        "1234.56.782\n",  # dotted BSN at the start of a line
        "x 1012 nx",  # postcode at the end, no newline
        "a1234.56.782\n",  # not a word of its own: not joined
        "1012 nxa\n",
        "9711 lm\n",
        '{"v":"mrn0012345"}\n',
        "Éva jansen\n",  # non-ASCII line, reference pass
        "JANSEN",
        "geen\n",
        "0123.45.672\n",
        "1012\nnx\n",
    ]
    reference, fast = _both(texts)
    assert fast == reference
    assert fast == [0, 1, 4, 5, 6, 7, 9]


def test_sliced_and_empty_arrays() -> None:
    tokens = pa.array(TOKENS, pa.string())
    array = pa.array(["geen\n", "jansen\n", "1012 nx\n", "niets\n"], pa.string())
    sliced = array.slice(1, 2)
    assert _fast_candidate_lines(sliced, tokens) == _candidate_lines(sliced, tokens) == [0, 1]
    empty = pa.array([], pa.string())
    assert _fast_candidate_lines(empty, tokens) == []


def test_scan_file_over_several_chunks_matches_the_reference(tmp_path: Path) -> None:
    import aanlevering.output.guard as guard

    file = tmp_path / "a.ndjson"
    rows = [f'{{"id":"{i}","v":"regel {i}"}}' for i in range(3000)]
    rows[17] = '{"id":"17","v":"bsn 1234.56.782"}'
    rows[2999] = '{"id":"2999","v":"Jansen"}'
    file.write_text("\n".join(rows), encoding="utf-8")  # no newline at the end
    tokens = pa.array(TOKENS, pa.string())
    old = guard.CHUNK_BYTES
    guard.CHUNK_BYTES = 10_000
    try:
        chunks = list(_lines(file))
        assert len(chunks) > 3
        found = [first + i for first, lines in chunks for i in _fast_candidate_lines(lines, tokens)]
        reference = [first + i for first, lines in chunks for i in _candidate_lines(lines, tokens)]
        identifiers = RunIdentifiers(
            {"a BSN": frozenset({"123456782"}), "a name": frozenset({"jansen"})}
        )
        hits = scan_file(file, identifiers)
    finally:
        guard.CHUNK_BYTES = old
    assert found == reference == [17, 2999]
    assert {(h.column, h.kind) for h in hits} == {("v", "a BSN"), ("v", "a name")}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["123456782", "12345672", "1234.56.782", "000000000", "00000000", "x"])
        | st.text(alphabet="0123456789 .-é", max_size=12),
        max_size=20,
    )
)
def test_vectorised_elfproef_matches_the_reference(values: list[str]) -> None:
    from aanlevering.output.guard import _elfproef_bsns, _elfproef_bsns_reference

    assert _elfproef_bsns(values) == _elfproef_bsns_reference(values)


def test_vectorised_elfproef_edges() -> None:
    from aanlevering.output.guard import _elfproef_bsns

    assert _elfproef_bsns(["123456782", "1234.56.782", "12345672", "123456789", "000000000"]) == {
        "123456782",
        "012345672",
    }
    assert _elfproef_bsns([]) == set()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(line_text, st.booleans()), min_size=1, max_size=12))
def test_lookup_in_the_run_sets_finds_the_same_lines(lines: list[tuple[str, bool]]) -> None:
    texts = [text + ("\n" if newline else "") for text, newline in lines]
    array = pa.array(texts, pa.string())
    tokens = pa.array(TOKENS, pa.string())
    known = (frozenset(TOKENS[:3]), frozenset(TOKENS[3:]))
    assert _fast_candidate_lines(array, tokens, known) == _candidate_lines(array, tokens)
