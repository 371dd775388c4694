"""A retraction placed in an outbox, then abandoned, says "retract again" everywhere.

Decision 0884 fixed the words of ``abandon-handover`` for a retraction, but not
the other places the hospital reads (decision 0900): the version's hospital
report was rewritten as a delivery's ("not delivered; the next run delivers the
period as v3": followed, it sends the data the hospital meant to withdraw
again), ``status`` and the Deliveries page said "until the period's next
version replaces them", and ``retract`` itself printed "retracted" when the
outbox's own receipt came back, before anyone uploaded it. Real commands in
their own processes, the real outbox folder, TTP and registry holder processes.
"""

from __future__ import annotations

import json
from pathlib import Path

from aanlevering.airflow.deliveries_page import render
from aanlevering.deliver.ledger import load_ledger
from aanlevering.periods import run_day
from aanlevering.projections import build_projections
from aanlevering.validate.hospital_report import HOSPITAL_REPORT
from conftest import CATALOGUE, World

REGISTRATION, PERIOD = "dica-dsaa", "2026-Q3"
WHERE = ["--registration", REGISTRATION, "--period", PERIOD]
#: What a delivery's advice says, and a retraction's must not.
RUN_AGAIN = ("delivers the period as", "aanlevering run", "next version replaces")


def test_an_abandoned_retraction_says_retract_again_in_report_status_and_page(
    world: World, tmp_path: Path
) -> None:
    world.include(REGISTRATION)
    outbox = tmp_path / "upload-folder"
    placed = world.cli(
        CATALOGUE, "run", *WHERE, "--input", str(world.demo / "csv-utf8"), "--outbox", str(outbox)
    )
    assert placed.returncode == 0, placed.stderr[-2000:]
    confirmed = world.cli(CATALOGUE, "confirm-upload", *WHERE, "--version", "1")
    assert confirmed.returncode == 0, confirmed.stderr[-2000:]
    # A run of other data blocked by validation left its hospital report as v2 (the number
    # the retraction then takes): the report the hand-over commands rewrite.
    blocked = world.cli(
        CATALOGUE, "run", *WHERE, "--input", str(world.bad_demo / "csv-utf8"),
        "--outbox", str(outbox),
    )  # fmt: skip
    assert blocked.returncode == 1, blocked.stderr[-2000:]
    report = world.settings.reports_dir / REGISTRATION / PERIOD / "v2" / HOSPITAL_REPORT
    assert report.is_file()

    retracted = world.cli(
        CATALOGUE, "retract", *WHERE, "--reason", "delivered without a legal basis"
    )
    assert retracted.returncode == 0, retracted.stderr[-2000:]
    assert (outbox / "demo-hospital" / REGISTRATION / PERIOD / "v2" / "receipt.json").is_file()
    wrong: dict[str, str] = {}  # every place that says what is not true, all at once
    # Placed in the outbox, not at the registry holder: nothing is withdrawn yet.
    if "retracted:" in retracted.stdout or "not withdrawn yet" not in retracted.stdout:
        wrong["retract"] = retracted.stdout

    abandoned = world.cli(
        CATALOGUE, "abandon-handover", *WHERE, "--version", "2", "--reason", "outbox removed"
    )
    assert abandoned.returncode == 0, abandoned.stderr[-2000:]
    assert "hospital report updated" in abandoned.stdout, abandoned.stdout
    if not _retract_again(abandoned.stdout):
        wrong["abandon-handover"] = abandoned.stdout

    delivery = json.loads(report.read_text(encoding="utf-8"))["delivery"]
    if delivery["status"] != "retraction-abandoned" or not _retract_again(delivery["what_to_do"]):
        wrong["hospital report"] = str(delivery)

    status = world.cli(CATALOGUE, "status", "--registration", REGISTRATION)
    assert status.returncode == 0, status.stderr[-2000:]
    line = next(
        (text for text in status.stdout.splitlines() if "never confirmed; abandoned" in text), ""
    )
    if "retraction" not in line or not _retract_again(line):
        wrong["status"] = line

    with world.store() as store:
        document = build_projections(store, world.catalogue, run_day())
        first, second = load_ledger(store).versions(REGISTRATION, PERIOD)
    assert first.delivered and (second.kind, second.status) == ("retraction", "abandoned")
    page = render(document, world.settings.reports_dir, REGISTRATION)
    warning = next(p for p in page.split("<p ") if p.startswith("class='abandoned'"))
    warning = warning.split("</p>")[0]
    if not _retract_again(warning):
        wrong["Deliveries page"] = warning
    assert not wrong, (sorted(wrong), wrong)


def _retract_again(text: str) -> bool:
    """Says to retract again (and what is still held), never to run the period."""
    return (
        "aanlevering retract" in text
        and ".v1" in text
        and not [words for words in RUN_AGAIN if words in text]
    )
