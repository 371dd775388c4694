"""An identifier mapped into a numeric variable stops the run (CLI, decisions 0600 and 0601).

A hospital maps the wrong export column onto a number of the dictionary whose range
check is only a warning (DSAA's ``bmi``): the number goes out as the registry holder's
CSV writes it. Two spellings slipped past every guard: a birth date written as the
number YYYYMMDD in a decimal variable (the birth date check compared integer columns
only), and a patient number with leading zeros (``0069386181``), which a number column
writes without them (``69386181``) while the output guard looked for the whole text.
Each run must exit 2 before anything is staged, sent or recorded as delivered, naming
where and never the value. A module of its own: its blocked runs share no ledger with
other modules' delivering runs.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from test_run_pipeline import _run_cli_on

from aanlevering.deliver.ledger import load_ledger
from conftest import CATALOGUE, World


def _rewrite(source: Path, pattern: str, change: Callable[[dict[str, str]], None]) -> None:
    """Apply ``change`` to every row of the export's files matching ``pattern``, in place."""
    for file in source.glob(pattern):
        text = file.read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
        for row in rows:
            change(row)
        with file.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
            writer.writeheader()
            writer.writerows(rows)


def _nothing_delivered(world: World, result_text: str, planted: set[str]) -> None:
    assert "delivery blocked" in result_text
    assert not [value for value in planted if re.search(rf"\b{value}\b", result_text)]
    staged = world.settings.staging_dir / "dica-dsaa" / "2026-Q4"
    assert not list(staged.rglob("*.csv")) if staged.exists() else True
    assert not list((world.holder.home / "storage").rglob("*operatie*"))
    with world.store() as store:
        assert load_ledger(store).versions("dica-dsaa", "2026-Q4") == []
        logged = "".join(str(event.payload) for event in store.read_all())
    assert not [value for value in planted if value in logged]


def test_a_birth_date_as_a_number_in_a_decimal_variable_blocks_the_run(
    world: World, tmp_path: Path
) -> None:
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    planted: set[str] = set()

    def birth_date_as_bmi(row: dict[str, str]) -> None:  # GEBOORTEDATUM is 03-09-1954
        day, month, year = row["GEBOORTEDATUM"].split("-")
        row["BMI"] = f"{year}{month}{day}"
        planted.add(row["BMI"])

    _rewrite(source, "dsaa_operaties*.csv", birth_date_as_bmi)
    result = _run_cli_on(world, CATALOGUE, source)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert re.search(r"operatie\.bmi in (\d+) of \1 record\(s\)", output)
    _nothing_delivered(world, output, planted)


def test_a_patient_number_with_leading_zeros_in_a_number_variable_blocks_the_run(
    world: World, tmp_path: Path
) -> None:
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    planted: set[str] = set()

    def padded(row: dict[str, str]) -> None:  # the EHR writes its 10-digit numbers in full
        row["PATIENTNUMMER"] = row["PATIENTNUMMER"].zfill(10)

    def number_as_bmi(row: dict[str, str]) -> None:
        padded(row)
        row["BMI"] = row["PATIENTNUMMER"]
        planted.update({row["PATIENTNUMMER"], row["PATIENTNUMMER"].lstrip("0")})

    _rewrite(source, "dsaa_complicaties*.csv", padded)
    _rewrite(source, "dsaa_operaties*.csv", number_as_bmi)
    assert all(value.startswith("00") for value in planted if len(value) == 10)
    result = _run_cli_on(world, CATALOGUE, source)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    # Each record holds its own patient's number: stopped before writing (decision 0851).
    assert re.search(r"operatie\.bmi: a patient number in (\d+) of \1 record\(s\)", output)
    _nothing_delivered(world, output, planted)
