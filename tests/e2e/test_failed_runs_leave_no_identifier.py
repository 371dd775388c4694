"""What a failed or blocked run leaves behind holds no identifier of its input.

Each test drives one run into one failure with the demo's identifiers in its input,
then searches everything written at once (var/, the registry holder's storage and
log, the TTP's log, the CLI's output, the event log) for them: a later run of the
module must not be able to hide a leak by overwriting the file that held it.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from conftest import CATALOGUE, World, identity_values
from support.leaks import LeakFinder


def _rewrite_operaties(source: Path, change: Callable[[dict[str, str]], None]) -> None:
    """Apply ``change`` to every row of the export's DSAA operation files, in place."""
    for file in source.glob("dsaa_operaties*.csv"):
        text = file.read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
        for row in rows:
            change(row)
        with file.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
            writer.writeheader()
            writer.writerows(rows)


def _cli(world: World, catalogue: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a hospital runs it, with ``catalogue``."""
    return subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", *args],
        capture_output=True,
        text=True,
        env={
            **world.env,
            "AANLEVERING_CATALOGUE": str(catalogue),
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        },
        check=False,
        timeout=300,
    )


def _run_dsaa(world: World, catalogue: Path, source: Path) -> subprocess.CompletedProcess[str]:
    arguments = ["--registration", "dica-dsaa", "--input", str(source), "--period", "2026-Q4"]
    return _cli(world, catalogue, "run", *arguments, "--allow-open-period")


def _written(world: World) -> list[Path]:
    """Every file the hospital's side and its counterparties wrote (keys left out)."""
    roots = (world.home / "var", world.holder.home / "storage")
    written = [
        p
        for root in roots
        if root.exists()
        for p in root.rglob("*")
        if p.is_file() and "secrets" not in p.parts
    ]
    return [*written, world.holder.home / "registry-holder.log", world.home / "ttp.log"]


def leaks_left(world: World, identifiers: Iterable[str], *outputs: str) -> list[tuple[str, str]]:
    """(where, value) of every planted identifier in what was written or printed."""
    finder = LeakFinder(identifiers)
    leaks = [("cli output", value) for text in outputs for value in finder.found_in(text)]
    for path in _written(world):
        text = path.read_bytes().decode("utf-8", errors="replace")
        leaks += [(str(path), value) for value in finder.found_in(text)]
    return leaks


def test_a_birth_date_mapped_to_a_clinical_date_leaves_no_birth_date_behind(
    world: World, tmp_path: Path
) -> None:
    """Decision 0340's case, searched right after the blocked run (not after later runs)."""
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    registration = catalogue / "registrations" / "dica-dsaa.yaml"
    registration.write_text(
        registration.read_text(encoding="utf-8").replace(
            "          OVERLIJDENSDATUM: datum_overlijden\n", "          GEB_DT: datum_overlijden\n"
        ),
        encoding="utf-8",
    )
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    births: set[str] = set()

    def birth_date_as_geb_dt(row: dict[str, str]) -> None:
        del row["OVERLIJDENSDATUM"]
        row["GEB_DT"] = row["GEBOORTEDATUM"]
        births.add(row["GEBOORTEDATUM"])
        day, month, year = row["GEBOORTEDATUM"].split("-")
        births.add(f"{year}-{month}-{day}")

    _rewrite_operaties(source, birth_date_as_geb_dt)
    result = _run_dsaa(world, catalogue, source)
    assert result.returncode == 2, result.stderr[-2000:]
    assert (world.home / "var" / "reports").exists()
    planted = births | identity_values(world.demo)
    assert leaks_left(world, planted, result.stdout, result.stderr) == []
