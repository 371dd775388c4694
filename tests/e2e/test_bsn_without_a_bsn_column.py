"""A BSN in free text of an export without a BSN column stops the run (CLI, decision 0603).

A registration whose pseudonym types need no BSN (DSAA: NGGV, RGG, MRN) need not map
one, and a hospital that exports no BSN column gives the output guard no BSNs to look
for: it searches the delivery for *this run's* identifiers. A BSN the EHR wrote into a
free-text remark then went out in the clear with exit 0. The run must stop with exit 2
before anything is staged, sent or recorded, naming file, variable and count, never the
number. A module of its own: its blocked run shares no ledger with delivering runs.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from test_run_pipeline import _rewrite_operaties, _run_cli_on, _with_free_text

from aanlevering.deliver.ledger import load_ledger
from conftest import CATALOGUE, World


def test_a_bsn_in_free_text_of_an_export_without_bsns_blocks_the_run(
    world: World, tmp_path: Path
) -> None:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    _with_free_text(catalogue)
    registration = catalogue / "registrations" / "dica-dsaa.yaml"
    text = registration.read_text(encoding="utf-8")
    assert text.count("          BSN: bsn\n") == 1
    registration.write_text(text.replace("          BSN: bsn\n", ""), encoding="utf-8")
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    planted: set[str] = set()

    def plant(row: dict[str, str]) -> None:  # no BSN column; the remark names it
        bsn = row.pop("BSN")
        dotted = f"{bsn[:4]}.{bsn[4:6]}.{bsn[6:]}"
        row["OPMERKING"] = f"bsn {dotted} geverifieerd" if len(planted) % 2 else f"BSN: {bsn}"
        planted.add(bsn)

    _rewrite_operaties(source, plant)
    result = _run_cli_on(world, catalogue, source)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "delivery blocked" in output, output[-2500:]
    assert re.search(r"operatie\.opmerking in \d+ record\(s\)", output), output[-2000:]
    dotted = {f"{b[:4]}.{b[4:6]}.{b[6:]}" for b in planted}
    assert not [value for value in planted | dotted if value in output]
    staged = world.settings.staging_dir / "dica-dsaa" / "2026-Q4"
    assert not list(staged.rglob("*.csv")) if staged.exists() else True
    assert not list((world.holder.home / "storage").rglob("*operatie*"))
    with world.store() as store:
        assert load_ledger(store).versions("dica-dsaa", "2026-Q4") == []
