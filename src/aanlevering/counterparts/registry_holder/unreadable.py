"""Where a delivered file the reference registry holder cannot read stops being readable.

Why: a refusal of an unreadable file named no line, and added "0 records,
manifest says N" and "the files hold 0" next to it: a count mismatch that is
only a consequence of not reading the file, so the hospital read a second,
false reason (decision 0970). The refusal names file, line and what was
expected, and says only the true consequence: the records were not counted.
"""

from __future__ import annotations

from pathlib import Path

#: The one true consequence of an unreadable file, said after its reason.
NOT_COUNTED = "its records were not counted"


def undecodable_line(path: Path) -> int | None:
    """The first line of ``path`` that is not UTF-8 (None: every line is).

    Lines are split on the newline byte, which never occurs inside a UTF-8
    sequence, so a line that fails alone is the line that holds the bad byte.
    """
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def not_utf8(path: Path) -> str:
    """The refusal of a file that is not UTF-8 text, naming the line where it stops being so."""
    line = undecodable_line(path)
    where = f"{path.name} line {line}" if line is not None else path.name
    return f"{where}: not UTF-8 text (a delivered file must be UTF-8); {NOT_COUNTED}"
