"""Encoding and delimiter are detected where the config says auto, and bad bytes are located."""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.errors import ExtractError
from aanlevering.extract.csv_layout import find_malformed, record_lines, sniff_layout

HEADER = "OK_ID;NAAM;DATUM\n"


def _write(tmp_path: Path, data: bytes, name: str = "x.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ((HEADER + "1;Bruïne;01-01-2026\n").encode("utf-8"), "utf-8"),
        ((HEADER + "1;Bruïne;01-01-2026\n").encode("utf-8-sig"), "utf-8-sig"),
        ((HEADER + "1;Bruïne;01-01-2026\n").encode("cp1252"), "cp1252"),
        ((HEADER + "1;Jansen;01-01-2026\n").encode("ascii"), "utf-8"),
    ],
)
def test_auto_encoding(tmp_path: Path, data: bytes, encoding: str) -> None:
    layout = sniff_layout(_write(tmp_path, data), "auto", "auto", '"')
    assert layout.encoding == encoding
    assert layout.header == ("OK_ID", "NAAM", "DATUM")


def test_bytes_neither_utf8_nor_cp1252_are_located_by_offset_and_line(tmp_path: Path) -> None:
    data = HEADER.encode() + b"1;abc;01-01-2026\n2;a\x81b;02-01-2026\n"
    with pytest.raises(ExtractError) as raised:
        sniff_layout(_write(tmp_path, data), "auto", "auto", '"')
    message = str(raised.value)
    assert "x.csv" in message and "neither UTF-8" in message
    offset = data.index(b"\x81")
    assert f"offset {offset}" in message and "line 3" in message


def test_configured_utf8_rejects_a_cp1252_file_naming_offset_and_line(tmp_path: Path) -> None:
    data = (HEADER + "1;Bruïne;01-01-2026\n").encode("cp1252")
    with pytest.raises(ExtractError) as raised:
        sniff_layout(_write(tmp_path, data), "utf-8", ";", '"')
    assert f"offset {data.index('ï'.encode('cp1252'))} (line 2)" in str(raised.value)
    assert "Bru" not in str(raised.value)


def test_a_utf8_sequence_cut_across_read_chunks_is_not_an_error(tmp_path: Path) -> None:
    line = "1;Bruïne;01-01-2026\n"
    data = (HEADER + line * 400_000).encode("utf-8")  # several 4 MiB chunks
    assert sniff_layout(_write(tmp_path, data), "auto", "auto", '"').encoding == "utf-8"


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_delimiter_detection(tmp_path: Path, delimiter: str) -> None:
    text = (
        delimiter.join(["OK_ID", '"NAAM; LANG"', "DATUM"])
        + "\n1"
        + delimiter
        + "a"
        + delimiter
        + "b\n"
    )
    layout = sniff_layout(_write(tmp_path, text.encode()), "auto", "auto", '"')
    assert layout.delimiter == delimiter
    assert layout.header == ("OK_ID", "NAAM; LANG", "DATUM")


def test_a_header_without_any_candidate_delimiter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match="cannot detect the delimiter"):
        sniff_layout(_write(tmp_path, b"OK_ID\n1\n"), "auto", "auto", '"')


def test_duplicate_and_empty_header_names_and_empty_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match="named twice: A"):
        sniff_layout(_write(tmp_path, b"A;B;A\n1;2;3\n"), "auto", ";", '"')
    with pytest.raises(ExtractError, match="column 2 of the header has no name"):
        sniff_layout(_write(tmp_path, b"A;;C\n1;2;3\n"), "auto", ";", '"')
    with pytest.raises(ExtractError, match="empty"):
        sniff_layout(_write(tmp_path, b""), "auto", ";", '"')


def test_blank_lines_between_records_switch_to_counted_line_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path, b'A;B\n1;2\n\n3;"x\ny"\n\n\n5;6\n\n')
    layout = sniff_layout(path, "auto", "auto", '"')
    assert layout.blank_lines
    assert record_lines(layout) == [2, 4, 8]
    trailing_only = sniff_layout(_write(tmp_path, b"A;B\n1;2\n\n\n", "t.csv"), "auto", ";", '"')
    assert not trailing_only.blank_lines


def test_find_malformed_names_the_line_and_never_the_content(tmp_path: Path) -> None:
    path = _write(tmp_path, b"A;B;C\n1;2;3\n4;Geheim\n")
    assert (
        find_malformed(sniff_layout(path, "auto", ";", '"')) == "line 3: expected 3 fields, found 2"
    )
    quoted = _write(tmp_path, b'A;B\n1;2\n3;"Geheim\n', "q.csv")
    problem = find_malformed(sniff_layout(quoted, "auto", ";", '"'))
    assert problem is not None and "unbalanced quote" in problem and "Geheim" not in problem


def test_files_without_quote_characters_skip_the_line_break_count(tmp_path: Path) -> None:
    plain = sniff_layout(_write(tmp_path, b"A;B\n1;2\n"), "auto", "auto", '"')
    quoted = sniff_layout(_write(tmp_path, b'A;B\n1;"2"\n', "q.csv"), "auto", "auto", '"')
    unquoted_config = sniff_layout(_write(tmp_path, b'A;B\n1;"2"\n', "u.csv"), "auto", ";", "")
    assert (plain.has_quotes, quoted.has_quotes, unquoted_config.has_quotes) == (False, True, False)
