"""Find out how one CSV export file is written: encoding, delimiter and header.

Registry holders check deliveries for a consistent file format, and EHR
exports differ per hospital (Excel on Windows writes cp1252 with ``;``;
other tools write UTF-8, with or without BOM). Where the registration config
says ``auto`` we detect: a BOM means ``utf-8-sig``; a file that decodes as
UTF-8 is ``utf-8``; otherwise ``cp1252`` (which must then decode too). The
delimiter is the candidate (``;`` ``,`` tab ``|``) found most often outside
quotes on the header line, with :class:`csv.Sniffer` breaking ties.

The whole file is decoded once, in chunks and without keeping the text, so a
bad byte is reported with its offset and line before any row is read.
"""

from __future__ import annotations

import codecs
import csv
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aanlevering.errors import ExtractError

_CHUNK = 4 << 20
#: Longest value the slow paths read (pyarrow's reader takes any value within a block).
_FIELD_LIMIT = 1 << 30
_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
#: Longest header line read (characters): a header names tens of columns, not megabytes.
HEADER_LIMIT = 1 << 20
DELIMITERS: tuple[str, ...] = (";", ",", "\t", "|")
_DELIMITER_NAMES = {";": "';'", ",": "','", "\t": "tab", "|": "'|'"}


@dataclass(frozen=True)
class CsvLayout:
    """What the reader needs to know about one file."""

    path: Path
    encoding: str  # "utf-8" | "utf-8-sig" | "cp1252"
    delimiter: str
    quote: str
    header: tuple[str, ...]
    blank_lines: bool  # blank lines between records: line numbers need a slow count
    has_quotes: bool = True  # without any quote character no value can span lines

    @property
    def arrow_encoding(self) -> str:
        """Encoding name for pyarrow's reader (it skips a UTF-8 BOM by itself)."""
        return "cp1252" if self.encoding == "cp1252" else "utf8"

    @property
    def python_encoding(self) -> str:
        """Codec name for Python's ``open``."""
        return self.encoding


@dataclass(frozen=True)
class _Scan:
    error_offset: int | None
    error_line: int | None
    blank_lines: bool
    quote_bytes: frozenset[int] = frozenset()
    #: (byte offset, line) of the first NUL byte, which no text export holds (0605).
    nul_at: tuple[int, int] | None = None


def describe_delimiter(delimiter: str) -> str:
    """A readable name of a delimiter for messages (a tab is invisible)."""
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


def _scan(path: Path, codec: str, skip: int = 0) -> _Scan:
    """Decode the whole file; report the first undecodable byte and any blank line."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    consumed = 0
    newlines = 0
    first_blank: int | None = None
    last_content = -1
    tail = b""
    quotes: set[int] = set()
    nul_at: tuple[int, int] | None = None
    with path.open("rb") as handle:
        if skip:
            handle.read(skip)
            consumed = skip
        while True:
            chunk = handle.read(_CHUNK)
            final = not chunk
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as error:
                relative = max(error.start - pending, 0)
                offset = consumed - pending + error.start
                return _Scan(offset, newlines + chunk.count(b"\n", 0, relative) + 1, False)
            if final:
                break
            window = tail + chunk
            if first_blank is None:
                for pattern in (b"\n\n", b"\n\r\n"):
                    found = window.find(pattern)
                    if found >= 0:
                        position = consumed - len(tail) + found
                        first_blank = (
                            position if first_blank is None else min(first_blank, position)
                        )
            quotes.update(q for q in (0x22, 0x27) if q in chunk)
            if nul_at is None and (nul := chunk.find(b"\x00")) >= 0:
                nul_at = (consumed + nul, newlines + chunk.count(b"\n", 0, nul) + 1)
            stripped = chunk.rstrip(b"\r\n")
            if stripped:
                last_content = consumed + len(stripped) - 1
            newlines += chunk.count(b"\n")
            consumed += len(chunk)
            tail = chunk[-2:]
    blank = first_blank is not None and first_blank < last_content
    return _Scan(None, None, blank, frozenset(quotes), nul_at)


def _detect_encoding(path: Path, configured: str) -> tuple[str, _Scan]:
    with path.open("rb") as handle:
        start = handle.read(len(_BOM))
    has_bom = start == _BOM
    if configured == "auto":
        if start.startswith(_UTF16_BOMS):
            raise ExtractError(
                f"{path}: cannot read the file: it is UTF-16 (it starts with a UTF-16 byte "
                "order mark); export it as UTF-8"
            )
        if has_bom:
            return _checked(path, "utf-8-sig")
        utf8 = _scan(path, "utf-8")
        if utf8.error_offset is None:
            return "utf-8", utf8
        cp1252 = _scan(path, "cp1252")
        if cp1252.error_offset is None:
            return "cp1252", cp1252
        raise ExtractError(
            f"{path}: cannot read the file: it is neither UTF-8 (invalid byte at offset "
            f"{utf8.error_offset}, line {utf8.error_line}) nor cp1252 (undefined byte at "
            f"offset {cp1252.error_offset}, line {cp1252.error_line}); export it as UTF-8"
        )
    if configured == "utf-8" and has_bom:
        configured = "utf-8-sig"  # the BOM is an encoding marker, not part of the header
    return _checked(path, configured)


def _checked(path: Path, encoding: str) -> tuple[str, _Scan]:
    skip = len(_BOM) if encoding == "utf-8-sig" else 0
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    scan = _scan(path, codec, skip)
    if scan.error_offset is not None:
        raise ExtractError(
            f"{path}: cannot read the file as {encoding}: invalid byte at offset "
            f"{scan.error_offset} (line {scan.error_line}); check the export's encoding "
            "or set source.csv.encoding"
        )
    return encoding, scan


def _first_line(path: Path, encoding: str) -> str:
    """Line 1, read no further than :data:`HEADER_LIMIT` characters; ExtractError if longer."""
    with path.open(encoding=encoding, newline="") as handle:
        line = handle.readline(HEADER_LIMIT + 1)
    if len(line) > HEADER_LIMIT:
        raise ExtractError(
            f"{path}: line 1 is longer than {HEADER_LIMIT} characters: it is not a header line "
            "(a header names the columns); check the export"
        )
    return line.rstrip("\r\n")


def _count_outside_quotes(line: str, quote: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    inside = False
    for char in line:
        if quote and char == quote:
            inside = not inside
        elif not inside and char in DELIMITERS:
            counts[char] += 1
    return counts


def _detect_delimiter(path: Path, encoding: str, quote: str) -> str:
    line = _first_line(path, encoding)
    ranked = _count_outside_quotes(line, quote).most_common()
    if not ranked:
        raise ExtractError(
            f"{path}: cannot detect the delimiter: the header line contains none of "
            f"{', '.join(describe_delimiter(d) for d in DELIMITERS)}; set source.csv.delimiter"
        )
    if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
        return ranked[0][0]
    with path.open(encoding=encoding, newline="") as handle:
        sample = "".join(handle.readline() for _ in range(20))
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        tied = " and ".join(describe_delimiter(d) for d, n in ranked if n == ranked[0][1])
        raise ExtractError(
            f"{path}: cannot detect the delimiter: the header line has as many {tied}; "
            "set source.csv.delimiter"
        ) from None


def dialect_kwargs(delimiter: str, quote: str) -> dict[str, object]:
    """Keyword arguments of :func:`csv.reader` for this delimiter and quote."""
    if quote:
        return {"delimiter": delimiter, "quotechar": quote, "doublequote": True, "strict": True}
    return {"delimiter": delimiter, "quoting": csv.QUOTE_NONE, "strict": True}


def _not_a_header(
    path: Path, names: tuple[str, ...], delimiter: str, expected: frozenset[str]
) -> ExtractError:
    """Line 1 names none of the expected columns: it may be a record, so none of it is quoted."""
    hint = ""
    if any("\x00" in name for name in names):
        hint = "; it holds NUL characters: is the file UTF-16? export it as UTF-8"
    elif len(names) == 1 and len(expected) > 1:
        hint = (
            f"; it has a single field when split on {describe_delimiter(delimiter)}: "
            "is source.csv.delimiter right?"
        )
    return ExtractError(
        f"{path}: line 1 is not a header: none of its {len(names)} field(s) is a column of "
        f"the mapping (expected {', '.join(sorted(expected))}); is the header line missing? "
        f"(line 1 is not shown: it may be a record){hint}"
    )


def _invisible(char: str) -> bool:
    """A character a terminal does not show: control, format (zero-width, BOM, soft
    hyphen) and separators other than the plain space."""
    category = unicodedata.category(char)
    return category.startswith("C") or (category[0] == "Z" and char != " ")


def shown_name(name: str) -> str:
    """A column name for a message, each invisible character as ``<U+XXXX>`` (0602).

    Without this "missing column(s): BSN; unknown column(s): BSN" named two columns
    that look the same, one with a zero-width space or a second BOM pasted in.
    """
    return "".join(f"<U+{ord(c):04X}>" if _invisible(c) else c for c in name)


def look_alikes(missing: list[str], unknown: list[str]) -> list[str]:
    """For each header name that is a missing mapped name but for invisible characters
    or case, a line saying which (decision 0602)."""
    lines: list[str] = []
    for found in unknown:
        visible = "".join(c for c in found if not _invisible(c))
        for wanted in missing:
            if visible == wanted and visible != found:
                lines.append(
                    f"{shown_name(found)} is {wanted} with an invisible character: remove it "
                    "from the export's header"
                )
            elif visible.casefold() == wanted.casefold() and visible != wanted:
                lines.append(
                    f"{shown_name(found)} is {wanted} in another case: column names are "
                    "compared exactly; correct the header or source.csv.datasets"
                )
    return lines


def _read_header(
    path: Path, encoding: str, delimiter: str, quote: str, expected: frozenset[str]
) -> tuple[str, ...]:
    _first_line(path, encoding)  # bounds the memory a header line can take
    with path.open(encoding=encoding, newline="") as handle:
        # the default 128 KiB value limit stays: no column name is that long
        reader = csv.reader(handle, **dialect_kwargs(delimiter, quote))  # type: ignore[arg-type]
        try:
            row = next(reader)
        except StopIteration:
            raise ExtractError(f"{path}: the file is empty (no header line)") from None
        except csv.Error as error:
            raise ExtractError(f"{path}: line 1: malformed header: {error}") from None
    names = tuple(name.strip() for name in row)
    if expected and expected.isdisjoint(names):
        raise _not_a_header(path, names, delimiter, expected)
    if not any(names):
        raise ExtractError(f"{path}: line 1: the header line is empty")
    duplicates = sorted(name for name, n in Counter(names).items() if n > 1)
    if duplicates:
        raise ExtractError(
            f"{path}: line 1: column(s) named twice: {', '.join(map(shown_name, duplicates))}"
        )
    if "" in names:
        raise ExtractError(
            f"{path}: line 1: column {names.index('') + 1} of the header has no name"
        )
    return names


def sniff_layout(
    path: Path, encoding: str, delimiter: str, quote: str, expected: frozenset[str] = frozenset()
) -> CsvLayout:
    """Encoding, delimiter and header of ``path`` as configured or detected (``auto``).

    ``expected``: the column names the mapping knows; a line 1 with none of
    them is refused as no header, without quoting it (it may be a record).
    """
    if path.stat().st_size == 0:
        raise ExtractError(f"{path}: the file is empty (no header line)")
    actual_encoding, scan = _detect_encoding(path, encoding)
    actual_delimiter = (
        _detect_delimiter(path, actual_encoding, quote) if delimiter == "auto" else delimiter
    )
    header = _read_header(path, actual_encoding, actual_delimiter, quote, expected)
    if scan.nul_at is not None:
        offset, line = scan.nul_at
        raise ExtractError(
            f"{path}: line {line}: a NUL character (byte 0) at offset {offset}: a text export "
            "holds none; is the file cut short, overwritten or binary? export it again"
        )
    return CsvLayout(
        path=path,
        encoding=actual_encoding,
        delimiter=actual_delimiter,
        quote=quote,
        header=header,
        blank_lines=scan.blank_lines,
        has_quotes=bool(quote)
        and (ord(quote) not in (0x22, 0x27) or ord(quote) in scan.quote_bytes),
    )


@contextmanager
def _long_fields() -> Iterator[None]:
    """Let Python's csv module read values as long as pyarrow's reader does.

    Its default limit (128 KiB per value) would make the slow paths below fail
    on files the fast reader accepts; the limit is process-wide, so it is
    restored afterwards.
    """
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, _FIELD_LIMIT))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def record_lines(layout: CsvLayout) -> list[int]:
    """Physical line number of every data record, counted with Python's csv module.

    The slow path, used only when the file has blank lines between records
    (the fast reader skips them, so its row count no longer gives the line).
    A malformed record raises :class:`ExtractError` with its line.
    """
    lines: list[int] = []
    with (
        _long_fields(),
        layout.path.open(encoding=layout.python_encoding, newline="") as handle,
    ):
        reader = csv.reader(handle, **dialect_kwargs(layout.delimiter, layout.quote))  # type: ignore[arg-type]
        previous_end = 0
        try:
            for index, row in enumerate(reader):
                start = previous_end + 1
                previous_end = reader.line_num
                if index > 0 and row:
                    lines.append(start)
        except csv.Error as error:
            raise ExtractError(
                f"{layout.path}: line {previous_end + 1}: {_safe_csv_error(error)}: malformed CSV "
                f"(delimiter {describe_delimiter(layout.delimiter)}, quote {layout.quote!r})"
            ) from None
    return lines


def _record_bytes(row: list[str], layout: CsvLayout, longest: int) -> bool:
    """Whether ``row`` takes more than ``longest`` bytes in the file (quotes not counted)."""
    chars = sum(len(value) for value in row) + len(row)
    if chars * 4 <= longest:  # no encoding takes more than 4 bytes a character
        return False
    text = layout.delimiter.join(row)
    return len(text.encode(layout.python_encoding, "replace")) > longest


def find_malformed(layout: CsvLayout, longest: int | None = None) -> str | None:
    """Locate the first malformed record ("line N: what is wrong"), or None.

    Used when the fast reader reported a problem: its own messages quote the
    offending row, which may hold identifiers, so we re-read to say where.
    ``longest``: the reader's block size; a record longer than that is a problem too.
    """
    expected = len(layout.header)
    with (
        _long_fields(),
        layout.path.open(encoding=layout.python_encoding, newline="") as handle,
    ):
        reader = csv.reader(handle, **dialect_kwargs(layout.delimiter, layout.quote))  # type: ignore[arg-type]
        previous_end = 0
        try:
            for row in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if row and len(row) != expected:
                    return f"line {start}: expected {expected} fields, found {len(row)}"
                if longest is not None and _record_bytes(row, layout, longest):
                    return (
                        f"line {start}: the record is longer than {longest} bytes, the most the "
                        "reader takes (is a quote left open, or a document pasted into a field?)"
                    )
        except csv.Error as error:
            return f"line {previous_end + 1}: {_safe_csv_error(error)}"
    return None


def _safe_csv_error(error: csv.Error) -> str:
    text = str(error)
    if "end of data" in text or "EOF" in text:
        return "a quoted value is not closed (unbalanced quote)"
    if "expected" in text and "after" in text:
        return "a closing quote is followed by other characters"
    return f"malformed CSV ({text})"  # csv module messages name characters, never values
