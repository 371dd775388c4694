"""A production run whose endpoints lead to the reference services stops before any patient leaves.

The hospital side runs as a production install would (its own id, no
``AANLEVERING_DEMO_MODE``) against the bundled reference TTP and registry holder,
real processes, as docker-compose.yml's URL defaults would make it (decision 0710).
The run must stop with exit 2 naming the setting, with nothing at the holder,
no patient offered to the TTP and nothing recorded delivered.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from aanlevering.events.factory import open_event_store
from conftest import World
from support.forked_cli import run_cli


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        args,
        env={**env, "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        timeout=300,
    )


def test_a_production_run_against_the_reference_services_exits_2_and_sends_nothing(
    world: World, tmp_path: Path
) -> None:
    home = tmp_path / "production-home"
    env = {k: v for k, v in world.env.items() if k != "AANLEVERING_DEMO_MODE"}
    env |= {"AANLEVERING_HOME": str(home), "AANLEVERING_PROVIDER_ID": "ziekenhuis-oost"}
    decided = _cli(
        env,
        *("register", "decide", "--registration", "dica-dsaa", "--decision", "included"),
        *("--decided-on", "2026-01-01", "--effective-from", "2026-01-01", "--term-years", "5"),
    )
    assert decided.returncode == 0, decided.stderr
    audit = world.ttp.log_path.parent / "ttp" / "audit.jsonl"
    before = audit.read_text(encoding="utf-8") if audit.exists() else ""

    ran = _cli(
        env,
        *("run", "--registration", "dica-dsaa", "--period", "2026-Q1"),
        *("--input", str(world.demo / "csv-utf8")),
    )

    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "AANLEVERING_DEMO_MODE=yes" in ran.stderr and "reference" in ran.stderr
    assert "delivered" not in ran.stdout
    assert not any(e["provider"] == "ziekenhuis-oost" for e in world.holder.ledger())
    after = audit.read_text(encoding="utf-8") if audit.exists() else ""
    offered = [json.loads(line) for line in after[len(before) :].splitlines() if line]
    assert not any(e.get("endpoint", "").startswith("/pseudonyms") for e in offered), offered
    with open_event_store(f"sqlite:///{home / 'events.sqlite3'}") as store:
        types = {e.event_type for e in store.read_all()}
    assert "deliver.DeliveryReceipted" not in types and "deliver.DeliveryStaged" not in types
