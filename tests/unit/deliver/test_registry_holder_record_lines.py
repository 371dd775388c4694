"""The line a CSV record starts on, as the holder names it in a refusal (decision 0980)."""

from __future__ import annotations

import csv
import io

from aanlevering.counterparts.registry_holder.row_shape import records, shape_problem


def _records(text: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True)
    next(reader)
    return list(records(reader))


def test_a_record_after_a_quoted_cell_over_two_lines_is_named_by_its_own_first_line() -> None:
    found = _records('a;b\n1;"two\nlines"\nshort\n')
    assert [line for line, _ in found] == [2, 4]
    line, row = found[1]
    assert shape_problem("t.csv", line, ["a", "b"], row) == (
        "t.csv line 4: expected 2 cells as the header, found 1"
    )


def test_empty_lines_at_the_end_are_no_records_but_one_between_records_is() -> None:
    assert _records("a;b\n1;2\n\n\n") == [(2, ["1", "2"])]
    assert _records("a;b\n1;2\n\n3;4\n") == [(2, ["1", "2"]), (3, []), (4, ["3", "4"])]
