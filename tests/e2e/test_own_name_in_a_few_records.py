"""A few records holding their own patient's name stop the run (CLI, decision 0880).

Decision 0851 stopped a variable only when at least half of its records held their
own patient's identifier. Three records of a code variable (option-set check a
warning) or of a free-text remark holding their own patient's family name, for names
the output guard does not search alone (Bos, Vos, Wit, de Jong: short, or ordinary
words), were delivered and receipted with exit 0. Each case runs ``aanlevering run``
against the reference TTP and registry holder and wants exit 2 naming dataset and
variable, nothing staged or at the holder, and none of the input's identifiers in
anything written or printed.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from test_failed_runs_leave_no_identifier import leaks_left
from test_run_pipeline import _rewrite_operaties, _run_cli_on, _with_free_text
from test_wrong_column_mapped import TECHNIEK_LINE, UNSEARCHED, _edit

from aanlevering.deliver.ledger import load_ledger
from aanlevering.periods import run_day
from conftest import CATALOGUE, World, identity_values

Row = dict[str, str]
#: How many records of the export get their own patient's name.
FEW = 3


def _in_the_period(row: Row) -> bool:
    """Whether the operation falls in the run's 2026-Q4 (open: up to today)."""
    day = dt.datetime.strptime(row["OPERATIEDATUM"], "%d-%m-%Y").date()
    return dt.date(2026, 10, 1) <= day <= run_day()


def _few(
    value: Callable[[Row], str], column: str, others: str | None = None
) -> Callable[[Row], None]:
    """Set ``column`` of the first :data:`FEW` records of the period of patients with an
    unsearched name without a prefix ("de Jong" is a phrase the output guard finds) to
    ``value(row)``, and of the period's other records to ``others``."""
    done: list[Row] = []

    def change(row: Row) -> None:
        if not _in_the_period(row):
            return
        if len(done) < FEW and row["GESLACHTSNAAM"] in UNSEARCHED and not row["VOORVOEGSELS"]:
            row[column] = value(row)
            done.append(row)
        elif others is not None:
            row[column] = others

    return change


def _full_name(row: Row) -> str:
    return " ".join(part for part in (row["VOORVOEGSELS"], row["GESLACHTSNAAM"]) if part)


def _warning_techniek(catalogue: Path) -> None:
    _edit(
        catalogue / "dictionaries" / "dsaa" / "2026.1.yaml",
        TECHNIEK_LINE,
        TECHNIEK_LINE.replace("]}", "], severity: warning}"),
    )


CASES: dict[str, tuple[Callable[[Path], None], Callable[[Row], None], str]] = {
    # The EHR writes its own local code (not in the option set: a warning) in every
    # other record, so the names are far fewer than half of the values compared.
    "own family name as a code not in the option set": (
        _warning_techniek,
        _few(_full_name, "TECHNIEK", others="EVAR2"),
        rf"operatie\.techniek: a name in {FEW} of \d+ record\(s\)",
    ),
    "own family name as the whole remark": (
        _with_free_text,
        _few(_full_name, "OPMERKING"),
        rf"operatie\.opmerking: a name in {FEW} of \d+ record\(s\)",
    ),
    "own family name as a word of the remark": (
        _with_free_text,
        _few(lambda row: f"pat. {row['GESLACHTSNAAM'].lower()} belde, goed herstel", "OPMERKING"),
        rf"operatie\.opmerking: the patient's own family name as a word in {FEW} record\(s\)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_few_records_holding_their_own_name_stop_the_run(
    world: World, tmp_path: Path, case: str
) -> None:
    change_catalogue, change_row, expected = CASES[case]
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    change_catalogue(catalogue)
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    planted: list[str] = []

    def plant(row: Row) -> None:
        if change_catalogue is _with_free_text:
            row.setdefault("OPMERKING", "geen bijzonderheden")
        change_row(row)
        held = f"{row['TECHNIEK']} {row.get('OPMERKING', '')}".lower()
        if row["GESLACHTSNAAM"].lower() in held.split():
            planted.append(row["GESLACHTSNAAM"])

    _rewrite_operaties(source, plant)
    assert len(planted) == FEW
    before = world.holder.ledger()
    result = _run_cli_on(world, catalogue, source)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert re.search(expected, output), output[-3000:]
    assert "delivery blocked" in output and "nothing was staged" in output
    assert world.holder.ledger() == before  # nothing receipted
    assert not list((world.holder.home / "storage").rglob("*operatie*"))
    staged = world.settings.staging_dir / "dica-dsaa" / "2026-Q4"
    assert not list(staged.rglob("*.csv")) if staged.exists() else True
    with world.store() as store:
        assert load_ledger(store).versions("dica-dsaa", "2026-Q4") == []
    assert leaks_left(world, identity_values(world.demo), result.stdout, result.stderr) == []
