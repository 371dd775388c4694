"""How many problems one refusal of the reference registry holder lists, and says of the rest.

Why: a refusal should name every problem the holder found, so the hospital
fixes them in one round (decision 0985); but a file of a million damaged rows
must not make a refusal of a million lines. So each file lists at most
:data:`PER_FILE` problems and the whole refusal at most :data:`IN_ALL`, each
saying how many more it found. The problems of the delivery as a whole (a
file's count, a dataset's count, the references) are kept before the rows'
when lines must be left out: one of them is what a hospital fixes first.
Problems name file, line, column and kind, never a value: counting them
adds none.
"""

from __future__ import annotations

#: Problems listed per file.
PER_FILE = 20
#: Lines one refusal lists at most, the line saying how many more included.
IN_ALL = 100


def per_file(name: str, problems: list[str]) -> list[str]:
    """At most :data:`PER_FILE` of the problems of file ``name``, then how many more."""
    if len(problems) <= PER_FILE:
        return problems
    more = len(problems) - PER_FILE
    return [*problems[:PER_FILE], f"{name}: {more} more problem(s) in this file not listed"]


class Refusal:
    """The problems found in one delivery, in the order found, bounded when read."""

    def __init__(self) -> None:
        self._lines: list[tuple[str, bool]] = []  # (problem, of one row or resource)

    def __repr__(self) -> str:
        return f"Refusal({len(self._lines)} problems)"

    def rows(self, problems: list[str]) -> None:
        """Problems of single rows, lines or entries (left out first when too many)."""
        self._lines.extend((problem, True) for problem in problems)

    def whole(self, problems: list[str]) -> None:
        """Problems of a file or of the delivery as a whole."""
        self._lines.extend((problem, False) for problem in problems)

    def problems(self) -> list[str]:
        """At most :data:`IN_ALL` lines, the last saying how many were not listed."""
        if len(self._lines) <= IN_ALL:
            return [problem for problem, _ in self._lines]
        room = IN_ALL - 1
        whole = sum(1 for _, of_row in self._lines if not of_row)
        rows_room = max(room - whole, 0)
        kept: list[str] = []
        for problem, of_row in self._lines:
            if len(kept) == room:
                break
            if of_row:
                if rows_room == 0:
                    continue
                rows_room -= 1
            kept.append(problem)
        more = len(self._lines) - len(kept)
        return [*kept, f"{more} more line(s) of problems not listed (at most {IN_ALL} per refusal)"]
