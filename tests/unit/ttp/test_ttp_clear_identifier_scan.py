"""The one-text scan of a local-mode record misses nothing the detailed walk finds (decision 1020).

Local mode scans a record's JSON text once and walks only records with a
find; these are the shapes where the text differs from the values walked.
"""

from __future__ import annotations

import json

import pytest

from aanlevering.counterparts.ttp.clear_identifiers import ClearIdentifiers, dumped_may_hold_bsn

BSN = "111222333"
SHAPES = [
    {"note": f"line one\n{BSN}"},
    {"note": f'"{BSN}"'},
    {"note": f"\\{BSN}"},
    {"numbers": [int(BSN), 5]},
    {"numbers": [5, int(BSN)]},
    {"note": f"\u0001{BSN}\u0002"},
    {"deep": [{"x": {"y": f"see 1112.22.333 and {BSN}"}}]},
]


@pytest.mark.parametrize("value", SHAPES, ids=range(len(SHAPES)))
def test_what_the_walk_finds_the_text_scan_finds(value: dict[str, object]) -> None:
    assert ClearIdentifiers([]).json_problem(value) is not None
    assert dumped_may_hold_bsn(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def test_a_record_without_digits_is_not_walked() -> None:
    value = {"resourceType": "Patient", "birthDate": "1970-01", "code": BSN}
    assert ClearIdentifiers([]).json_problem(value) is None
    assert not dumped_may_hold_bsn(json.dumps({"resourceType": "Patient", "gender": "female"}))
