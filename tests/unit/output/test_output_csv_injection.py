"""CSV output: values a spreadsheet would run as formulas are neutralised (OWASP CSV injection)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from aanlevering.output.content import DeliveryInput
from aanlevering.output.values import neutralise_formulas
from aanlevering.output.writer import write_delivery

DANGEROUS = [
    '=HYPERLINK("http://evil.example","klik")',
    "+31 6 1234",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]
HARMLESS = ["a=b", "normaal", "", "1-2", "'al gequote"]


def test_each_formula_start_gets_a_quote_and_the_rest_is_untouched(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    content = delivery("ldtr", records_per_person=4)
    trauma = content.datasets["trauma"]
    values = DANGEROUS + HARMLESS
    column = values + ["gewoon"] * (trauma.num_rows - len(values))
    table = trauma.clinical.set_column(
        trauma.clinical.column_names.index("trauma_id"), "trauma_id", pa.array(column)
    )
    content = replace(content, datasets={"trauma": replace(trauma, clinical=table)})
    write_delivery(tmp_path, content, "csv")
    with (tmp_path / "trauma.csv").open(encoding="utf-8", newline="") as handle:
        written = [row["trauma_id"] for row in csv.DictReader(handle, delimiter=";")]
    assert written[: len(DANGEROUS)] == ["'" + value for value in DANGEROUS]
    assert written[len(DANGEROUS) : len(values)] == HARMLESS
    # numbers stay numbers: a negative integer is not text
    assert all(not w.startswith("'") for w in written[len(values) :])


def test_option_set_codes_are_kept_as_the_registry_defined_them() -> None:
    text = pa.array(["-1", "=x", None, "ok"])
    assert neutralise_formulas(text, frozenset({"-1"})).to_pylist() == ["-1", "'=x", None, "ok"]
    assert neutralise_formulas(text).to_pylist() == ["'-1", "'=x", None, "ok"]
