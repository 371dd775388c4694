"""A retraction goes where the version it withdraws was delivered: its outbox.

A period delivered with ``aanlevering run --outbox DIR`` (or a scheduled run with
``AANLEVERING_OUTBOX__<ID>``, as ``make run`` does for LDTR) was retracted over
the registration's configured channel instead: with a configured outbox (the
walk-through's new registration) the retraction landed in
``$AANLEVERING_HOME/outbox``, was receipted there and reported "retracted",
while the folder holding the delivered version never saw it; with https the
registry holder refused to supersede a version it never had.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import CATALOGUE, World

PERIOD = "2026-Q1"


def test_a_retraction_follows_the_outbox_its_version_was_delivered_to(
    world: World, tmp_path: Path
) -> None:
    world.include("dica-dsaa")
    outbox = tmp_path / "upload-folder"
    run = world.cli(
        CATALOGUE, "run", "--registration", "dica-dsaa", "--input",
        str(world.demo / "csv-utf8"), "--period", PERIOD, "--outbox", str(outbox),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]

    retracted = world.cli(
        CATALOGUE, "retract", "--registration", "dica-dsaa", "--period", PERIOD,
        "--reason", "delivered to the wrong registry",
    )  # fmt: skip
    assert retracted.returncode == 0, retracted.stderr[-2000:]
    assert "demo-hospital.dica-dsaa.2026-Q1.v2" in retracted.stdout

    folder = outbox / "demo-hospital" / "dica-dsaa" / PERIOD
    manifest = json.loads((folder / "v2" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "retraction"
    assert manifest["supersedes"] == "demo-hospital.dica-dsaa.2026-Q1.v1"
    assert (folder / "v2" / "receipt.json").is_file()
    assert not (world.home / "outbox").exists()
