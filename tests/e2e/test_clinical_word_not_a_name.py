"""A clinical word that is only by coincidence the patient's name, cleared by the hospital (0910).

"wit beslag op de tong" in the remark of each patient de Wit of the period stopped
the whole run (decision 0881, exit 2) with advice to remove it from the EHR: the
hospital could not deliver at all. Each case runs ``aanlevering run`` against the
reference TTP and registry holder: without the setting the run stops and names
it; with ``not_names: [wit]`` in the registration file the same export is
delivered and receipted, the records with the word included, and the hospital's
report and log say how many records passed only because of the list; a real
name in a phrase ("mw. Wit") still stops the run with the list. Nothing written
or printed holds the input's identifiers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

from test_failed_runs_leave_no_identifier import leaks_left
from test_run_pipeline import _rewrite_operaties, _run_cli_on, _with_free_text
from test_wrong_column_mapped import _edit

from aanlevering.deliver.ledger import LedgerEntry, load_ledger
from aanlevering.periods import run_day
from conftest import CATALOGUE, World, identity_values

Row = dict[str, str]
WORD = "wit beslag op de tong"
QUIET = "geen bijzonderheden"
REGISTRATION = "registrations/dica-dsaa.yaml"


def _in_the_period(row: Row) -> bool:
    """Whether the operation falls in the run's 2026-Q4 (open: up to today)."""
    day = dt.datetime.strptime(row["OPERATIEDATUM"], "%d-%m-%Y").date()
    return dt.date(2026, 10, 1) <= day <= run_day()


def _export(world: World, tmp_path: Path, change: Callable[[Row], str | None]) -> list[Row]:
    """The demo export with a remark per operation: ``change(row)``, else a quiet one;
    returns the rows of the period that got a remark of ``change``. Patients Vos are
    called Wit in every record (the period has one patient de Wit, and four Vos)."""
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    changed: list[Row] = []

    def plant(row: Row) -> None:
        if row["GESLACHTSNAAM"] == "Vos":  # the demo's period has one patient de Wit: more
            row["GESLACHTSNAAM"] = "Wit"
        remark = change(row) if _in_the_period(row) else None
        row["OPMERKING"] = remark or QUIET
        if remark:
            changed.append(dict(row))

    _rewrite_operaties(source, plant)
    return changed


def _catalogue(tmp_path: Path, not_names: str | None) -> Path:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    _with_free_text(catalogue)
    if not_names is not None:
        _edit(
            catalogue / REGISTRATION,
            "owner: team-vaatchirurgie-data\n",
            f"owner: team-vaatchirurgie-data\nnot_names: {not_names}\n",
        )
    return catalogue


def _white_tongue(row: Row) -> str | None:
    return WORD if row["GESLACHTSNAAM"] == "Wit" else None


def _period_versions(world: World) -> list[LedgerEntry]:
    with world.store() as store:
        return list(load_ledger(store).versions("dica-dsaa", "2026-Q4"))


def _assert_nothing_staged(
    world: World, held: list[dict[str, object]], versions: list[LedgerEntry]
) -> None:
    assert world.holder.ledger() == held  # nothing receipted
    staged = world.settings.staging_dir / "dica-dsaa" / "2026-Q4"
    assert not list(staged.rglob("*.csv")) if staged.exists() else True
    assert _period_versions(world) == versions


def test_a_clinical_word_that_is_the_own_name_stops_the_run_and_names_the_setting(
    world: World, tmp_path: Path
) -> None:
    planted = _export(world, tmp_path, _white_tongue)
    assert len(planted) >= 3, "the period's patients Wit"
    before, versions = world.holder.ledger(), _period_versions(world)
    result = _run_cli_on(world, _catalogue(tmp_path, None), tmp_path / "export")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert (
        f"operatie.opmerking: the patient's own family name as a word in {len(planted)} "
        "record(s)" in output
    ), output[-3000:]
    assert "not_names" in output and REGISTRATION in output
    assert "delivery blocked" in output and "nothing was staged" in output
    _assert_nothing_staged(world, before, versions)
    assert leaks_left(world, identity_values(world.demo), result.stdout, result.stderr) == []


def test_a_real_name_in_a_phrase_still_stops_the_run_with_the_setting(
    world: World, tmp_path: Path
) -> None:
    first: list[Row] = []

    def titled(row: Row) -> str | None:
        if row["GESLACHTSNAAM"] != "Wit":
            return None
        first.append(row)
        return "mw. Wit belde, goed herstel" if len(first) == 1 else WORD

    planted = _export(world, tmp_path, titled)
    assert len(planted) >= 2
    before, versions = world.holder.ledger(), _period_versions(world)
    result = _run_cli_on(world, _catalogue(tmp_path, "[wit]"), tmp_path / "export")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "hold an identifier of this run's patients" in output, output[-3000:]  # the guard
    assert "opmerking" in output and "nothing was staged" in output
    _assert_nothing_staged(world, before, versions)
    assert leaks_left(world, identity_values(world.demo), result.stdout, result.stderr) == []


def test_the_same_export_with_the_setting_is_delivered_and_the_report_counts_it(
    world: World, tmp_path: Path
) -> None:
    planted = _export(world, tmp_path, _white_tongue)
    before = len(world.holder.ledger())
    result = _run_cli_on(world, _catalogue(tmp_path, "[wit, beslag]"), tmp_path / "export")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    latest = _period_versions(world)[-1]
    assert latest.status == "receipted"
    assert len(world.holder.ledger()) == before + 1
    key = latest.idempotency_key
    held = world.holder.home / "storage" / "deliveries" / "demo-hospital" / key / "accepted"
    operaties = (held / "operatie.csv").read_text(encoding="utf-8")
    remarks = [r["opmerking"] for r in csv.DictReader(io.StringIO(operaties), delimiter=";")]
    assert remarks.count(WORD) == len(planted)  # the word's records delivered
    # Visible to the hospital: the log line and its report, counts and listed words only.
    line = (
        "delivered only because the registration lists the word under not_names "
        f"(decision 0910): operatie.opmerking: {len(planted)} record(s) (wit {len(planted)})"
    )
    assert line in output, output[-3000:]
    folder = world.settings.reports_dir / "dica-dsaa" / "2026-Q4" / f"v{latest.version}"
    report = json.loads((folder / "hospital-report.json").read_text(encoding="utf-8"))
    assert report["not_names"] == {
        "decision": "0910",
        "listed": ["beslag", "wit"],
        "unused": ["beslag"],
        "delivered_only_because_listed": {
            "operatie.opmerking": {"records": len(planted), "words": {"wit": len(planted)}}
        },
    }
    # Not for the registry holder: neither its report nor anything it received says so.
    for path in held.parent.rglob("*"):
        if path.is_file():
            assert "not_names" not in path.read_text(encoding="utf-8", errors="replace")
    assert leaks_left(world, identity_values(world.demo), result.stdout, result.stderr) == []
