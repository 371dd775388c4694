"""A home whose MRN key was lost and made again is refused before the TTP, not delivered.

The scenario of an operations incident: `$AANLEVERING_HOME/secrets` is
restored (or a worker provisioned) without `mrn-key.json`, and someone runs
`aanlevering keys init-demo` (as `scripts/run.sh` does on every start) which
quietly makes a new MRN key. Every MRN pseudonym would change: the registry
holder would see new patients for the hospital's old ones, and the old
pseudonyms could no longer be revealed. The event log, which survived, knows
the key it was used with (decision 0451).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aanlevering.errors import AanleveringError, ConfigError
from aanlevering.periods import Period
from aanlevering.pipeline.run import RunRequest, RunResult, run_delivery
from aanlevering.pseudonym.keys import ensure_demo_keys, mrn_key_path, source_key_path
from conftest import World

TODAY = date(2026, 11, 22)


def _run(world: World, period: str, source: Path) -> RunResult:
    with world.store() as store:
        return run_delivery(
            world.config("dica-dsaa"),
            world.settings,
            RunRequest("dica-dsaa", source, Period.parse(period), today=TODAY),
            world.ports(store),
        )


def test_a_remade_mrn_key_stops_the_next_run_before_anything_is_delivered(
    world: World,
) -> None:
    assert _run(world, "2026-Q1", world.demo / "csv-utf8").status == "delivered"
    before = world.holder.ledger()

    old_key = mrn_key_path(world.settings).read_bytes()
    mrn_key_path(world.settings).unlink()  # restored without it
    assert ensure_demo_keys(world.settings, ["dica-dsaa"]) == [mrn_key_path(world.settings)]
    assert mrn_key_path(world.settings).read_bytes() != old_key

    with pytest.raises(ConfigError) as refused:
        _run(world, "2026-Q2", world.demo / "csv-utf8")
    message = str(refused.value)
    assert str(mrn_key_path(world.settings)) in message
    assert "MRN pseudonyms" in message
    assert world.holder.ledger() == before  # nothing new reached the registry holder

    # The key restored from backup works again.
    mrn_key_path(world.settings).write_bytes(old_key)
    assert _run(world, "2026-Q2", world.demo / "csv-utf8").status == "delivered"


def _corrected(world: World, target: Path) -> Path:
    """The demo export with the Q3 operations' diameters changed: a correction."""
    target.mkdir()
    for file in (world.demo / "csv-utf8").glob("dsaa_*.csv"):
        lines = file.read_text(encoding="utf-8-sig").splitlines()
        header = lines[0].split(";")
        if "DIAMETER_MM" in header:
            column = header.index("DIAMETER_MM")
            for index, line in enumerate(lines[1:], start=1):
                if "-08-2026" in line:
                    cells = line.split(";")
                    cells[column] = "71"
                    lines[index] = ";".join(cells)
        (target / file.name).write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return target


def test_a_remade_source_key_is_refused_by_the_ttp_before_anything_is_delivered(
    world: World, tmp_path: Path
) -> None:
    """The source key is shared, so the TTP checks it (decision 0224); pinned for a wiped home."""
    assert _run(world, "2026-Q3", world.demo / "csv-utf8").status == "delivered"
    before = world.holder.ledger()
    path = source_key_path(world.settings, "dica-dsaa")
    old_key = path.read_bytes()
    path.unlink()
    assert ensure_demo_keys(world.settings, ["dica-dsaa"]) == [path]
    with pytest.raises(AanleveringError, match=r"source_key_mismatch|source key"):
        _run(world, "2026-Q3", _corrected(world, tmp_path / "corrected"))
    assert world.holder.ledger() == before
    path.write_bytes(old_key)
    assert _run(world, "2026-Q3", tmp_path / "corrected").version == 2
