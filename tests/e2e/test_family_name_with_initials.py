"""A patient written "family name, initials" in free text stops the run (decision 0940, CLI).

Notes and letters write a patient "Groot, A.J.". Groot is an ordinary word, so
the output guard found it only after a title, an initial, a given name or the
prefix (0411), and the record's own-name check (0881) does not look for
ordinary words: "pat. Groot, A.J. gezien op poli" in the record of patient de
Groot, A.J., and "GROOT, a" in the record of another patient, were delivered and
receipted (exit 0). Each case runs ``aanlevering run`` against the reference TTP
and registry holder: the run stops with exit 2, names the variable, the number
of records and the kind, and the hospital's report says what to do; nothing is
staged, sent or written with the name. Realistic clinical text with the same
patients in the run ("groot, a. femoralis", "klein, n.b.") is delivered.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from test_clinical_word_not_a_name import Row, _assert_nothing_staged, _in_the_period
from test_failed_runs_leave_no_identifier import leaks_left
from test_run_pipeline import _rewrite_operaties, _run_cli_on, _with_free_text

from aanlevering.deliver.ledger import load_ledger
from conftest import CATALOGUE, World, identity_values

KIND = "a family name with initials"
QUIET = "geen bijzonderheden"
#: In the record of patient de Groot, A.J. itself.
OWN = "pat. Groot, A.J. gezien op poli"
#: In the records of other patients (Vos): the name as letters and notes write it.
OTHERS = ["GROOT, a", "Groot, de, A. belde over kamergenoot", "overleg met Groot A.J.", "Groot AJ"]
#: Clinical text of the period with patients Groot (A.J.), de Wit (A.J.A.), Bakker in the run.
CLINICAL = [
    "aneurysma groot, a. femoralis communis 2 cm",
    "wit, a. radialis goed palpabel",
    "klein, v. saphena magna gestript",
    "wond groot, n.b. controle over 2 weken",
    "groot hematoom, wit beslag op de tong, Bakker-score 2",
    "klein, t.z.t. controle CT, post CVA",
    "groot E. coli in urinekweek, Hb 6,8",
    "groot A-symptomatisch aneurysma",
]


def _export(world: World, tmp_path: Path, remark: Callable[[Row], str | None]) -> list[Row]:
    """The demo export, every patient (de) Groot with initials A.J.; a remark per operation
    of the period: ``remark(row)``, else a quiet one. Returns the rows that got one."""
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    changed: list[Row] = []

    def plant(row: Row) -> None:
        if row["GESLACHTSNAAM"] == "Groot":
            row["VOORLETTERS"] = "A.J."
        text = remark(row) if _in_the_period(row) else None
        row["OPMERKING"] = text or QUIET
        if text:
            changed.append(dict(row))

    _rewrite_operaties(source, plant)
    return changed


def _catalogue(tmp_path: Path) -> Path:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    _with_free_text(catalogue)
    return catalogue


def _versions(world: World) -> list[object]:
    with world.store() as store:
        return list(load_ledger(store).versions("dica-dsaa", "2026-Q4"))


def test_a_family_name_with_its_initials_in_free_text_stops_the_run(
    world: World, tmp_path: Path
) -> None:
    others = iter(OTHERS)

    def remark(row: Row) -> str | None:
        if row["GESLACHTSNAAM"] == "Groot":
            return OWN
        if row["GESLACHTSNAAM"] == "Vos":
            return next(others, None)
        return None

    planted = _export(world, tmp_path, remark)
    assert [r["GESLACHTSNAAM"] for r in planted].count("Groot") >= 1, "the period's de Groot"
    assert len(planted) >= 4
    before, versions = world.holder.ledger(), _versions(world)
    result = _run_cli_on(world, _catalogue(tmp_path), tmp_path / "export")
    output = result.stdout + result.stderr
    assert result.returncode == 2, f"exit {result.returncode}: {output[-3000:]}"
    assert "delivery blocked" in output and "nothing was staged" in output
    assert f"file operatie.csv, column opmerking: {KIND} in {len(planted)} value(s)" in output
    assert f"operatie.opmerking: {KIND} in {len(planted)} record(s)" in output, output[-3000:]
    assert "decision 0940" in output
    for text in (OWN, *OTHERS):
        assert text not in output
    _assert_nothing_staged(world, before, versions)  # type: ignore[arg-type]
    reports = sorted(
        world.settings.reports_dir.rglob("hospital-report.json"), key=lambda p: p.stat().st_mtime
    )
    report = json.loads(reports[-1].read_text(encoding="utf-8"))
    section = report["output_guard"]
    assert section["records"] == [
        {"variable": "operatie.opmerking", "kind": KIND, "records": len(planted)}
    ]
    assert "correct the text in the EHR" in section["what_to_do"][KIND]
    assert "Groot" not in json.dumps(report)
    planted_names = identity_values(world.demo) | {"Groot", "GROOT"}
    assert leaks_left(world, planted_names, result.stdout, result.stderr) == []


def test_clinical_text_with_those_patients_in_the_run_is_delivered(
    world: World, tmp_path: Path
) -> None:
    """The anatomy and the abbreviations of a note are no initials: measured on the pipeline."""
    texts = iter(range(10**6))

    def remark(row: Row) -> str:
        return CLINICAL[next(texts) % len(CLINICAL)]

    planted = _export(world, tmp_path, remark)
    assert len(planted) >= len(CLINICAL)
    before = len(world.holder.ledger())
    result = _run_cli_on(world, _catalogue(tmp_path), tmp_path / "export")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "delivery blocked" not in output
    assert len(world.holder.ledger()) == before + 1
