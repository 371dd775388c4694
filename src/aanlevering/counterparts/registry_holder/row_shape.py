"""Whether each CSV record has as many cells as the header: a damaged record is no record.

Why: a data row cut short without quotes (the last line of a truncated file)
or with more cells than the header was counted as a row, and with the
manifest's count agreeing the delivery was receipted with a damaged record. A
real registry holder refuses the file; so does the reference one, naming the
line and the cells expected and found, never a value (decision 0980). Empty
lines at the end of a file are no rows; an empty line followed by rows is a
record without cells.
"""

from __future__ import annotations

from collections.abc import Iterator


def records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Each record of ``reader`` with the line it starts on; empty lines at the end left out.

    ``reader``: a ``csv.reader``, whose ``line_num`` is the number of lines read
    so far, so a record starts one line after the last one read.
    """
    pending: list[tuple[int, list[str]]] = []
    start = _lines_read(reader) + 1
    for row in reader:
        if not row:
            pending.append((start, row))
        else:
            yield from pending
            pending.clear()
            yield start, row
        start = _lines_read(reader) + 1


def _lines_read(reader: object) -> int:
    number = getattr(reader, "line_num", 0)
    return number if isinstance(number, int) else 0


def shape_problem(name: str, line: int, header: list[str], row: list[str]) -> str | None:
    """Why ``row`` is no whole record of a file with ``header`` (None: it is one)."""
    if len(row) == len(header):
        return None
    return f"{name} line {line}: expected {len(header)} cells as the header, found {len(row)}"
