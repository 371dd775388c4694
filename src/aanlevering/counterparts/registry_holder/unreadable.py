"""Where a delivered file the reference registry holder cannot read stops being readable.

Why: a refusal of an unreadable file named no line, and added "0 records,
manifest says N" and "the files hold 0" next to it: a count mismatch that is
only a consequence of not reading the file, so the hospital read a second,
false reason (decision 0970). The refusal names file, line and what was
expected, and says only the true consequence: the records were not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class Unread:
    """What the files a delivery's check could not count leave unknown (decision 0985).

    Why: a file with one damaged row used to leave every record count and
    every reference unchecked, so a count wrong in another file came to light
    only after the damaged one was fixed, a second round for the hospital.
    What a file not read could hold is known from its name: ``<dataset>.csv``
    that dataset's rows, ``<Type>.ndjson`` resources of that type (decision
    0983). A Bundle, or an NDJSON file its name promises no type of (refused
    for its name, decision 1000), could hold anything: then nothing of the
    sort is checked, as before (0970).
    """

    #: Datasets whose CSV file was not counted.
    datasets: set[str] = field(default_factory=set)
    #: Resource types whose NDJSON file was not read whole.
    types: set[str] = field(default_factory=set)
    #: A file that could hold any resource was not read whole.
    anything: bool = False

    def __bool__(self) -> bool:
        """Whether any file was not read whole."""
        return bool(self.datasets or self.types or self.anything)

    def add(self, name: str, promised: str | None) -> None:
        """Note the file ``name`` as not counted; ``promised``: the type its name promises."""
        if name.endswith(".csv"):
            self.datasets.add(name.removesuffix(".csv"))
        elif promised is not None:
            self.types.add(promised)
        else:
            self.anything = True
