"""A rerun of a delivered period under a changed registration config says so (0425).

The content fingerprint covers the delivered data, not the config that shaped
it, so a period delivered as CSV and rerun after the config moved to FHIR
NDJSON (or to other pseudonym types) was "already delivered", with nothing
to tell that the registry holder holds it in the old shape. The ledger now
keeps a fingerprint of the registration and its dictionary per version, and a
run whose config differs from the latest version's says so.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.ledger import load_ledger
from aanlevering.periods import Period
from aanlevering.pipeline.run import RunRequest, RunResult, run_delivery
from conftest import CATALOGUE, World

TODAY = date(2026, 11, 22)


def _run(world: World, catalogue: Path, source: Path) -> RunResult:
    config = load_catalogue(catalogue).get("dica-dsaa")
    with world.store() as store:
        return run_delivery(
            config,
            world.settings,
            RunRequest("dica-dsaa", source, Period.parse("2026-Q3"), today=TODAY),
            world.ports(store),
        )


def test_a_rerun_under_another_config_says_the_config_changed(world: World, tmp_path: Path) -> None:
    source = world.demo / "csv-utf8"
    first = _run(world, CATALOGUE, source)
    assert first.status == "delivered" and not first.config_changed
    again = _run(world, CATALOGUE, source)
    assert again.status == "already-delivered" and not again.config_changed

    changed = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, changed)
    file = changed / "registrations" / "dica-dsaa.yaml"
    file.write_text(
        file.read_text(encoding="utf-8").replace("  format: csv\n", "  format: fhir-ndjson\n"),
        encoding="utf-8",
    )
    drifted = _run(world, changed, source)
    assert drifted.status == "already-delivered"
    assert drifted.config_changed

    with world.store() as store:
        (entry,) = load_ledger(store).versions("dica-dsaa", "2026-Q3")
    original = load_catalogue(CATALOGUE).get("dica-dsaa").config_sha256
    assert entry.config_sha256 == original
    assert load_catalogue(changed).get("dica-dsaa").config_sha256 != original


def test_comments_and_layout_are_no_change(tmp_path: Path) -> None:
    changed = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, changed)
    file = changed / "registrations" / "dica-dsaa.yaml"
    file.write_text(
        "# reviewed 2026-11-22\n"
        + file.read_text(encoding="utf-8").replace("\ndelivery:", "\n\n# how it goes\ndelivery:"),
        encoding="utf-8",
    )
    original = load_catalogue(CATALOGUE).get("dica-dsaa").config_sha256
    assert original
    assert load_catalogue(changed).get("dica-dsaa").config_sha256 == original
