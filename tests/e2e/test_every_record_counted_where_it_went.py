"""Runs that deliver nothing still say where every record they read went.

Red team, accounting (decisions 0753-0755), the Airflow path (a run folder,
one stage per call) with the reference TTP and registry holder as real
processes over 127.0.0.1:

* a run blocked by validation wrote only the validation report: its records
  (read, excluded by opt-out, blocked) were in no count an engineer could find;
* "nothing to deliver" named only the records outside the period, not the
  orphans, copies or records entered in error the source held;
* a retried ``confirm_receipt`` whose run folder was already removed returned
  "delivered" without what was delivered or its accounting.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import NothingToDeliver, ValidationBlocked
from aanlevering.runs.steps import run_stage, start_run
from conftest import World

REGISTRATION = "dica-dsaa"


def _rows(source: Path) -> int:
    return sum(
        len(list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";")))
        for path in source.glob("dsaa_*.csv")
    )


def _all_stages(run_id: str, period: str, source: Path, until: str = "") -> Path:
    summary = start_run(REGISTRATION, period, input_path=source, run_id=run_id)
    folder = Path(summary["run_dir"])
    for name in ("extract", "apply_optouts", "validate", "pseudonymise", "build_output"):
        if name == until:
            break
        run_stage(name, folder, registration_id=REGISTRATION, run_id=run_id)
    return folder


def test_a_run_blocked_by_validation_says_where_its_records_went(world: World) -> None:
    period = "2026-Q2"
    source = world.bad_demo / "csv-utf8"
    folder = _all_stages("blocked-by-validation", period, source, until="validate")
    with pytest.raises(ValidationBlocked) as blocked:
        run_stage("validate", folder, registration_id=REGISTRATION, run_id="blocked-by-validation")
    (report,) = (world.settings.reports_dir / REGISTRATION / period).glob("v*/hospital-report.json")
    accounting = json.loads(report.read_text("utf-8"))["accounting"]
    assert accounting["delivered"] == 0
    assert accounting["records_read"] > 0
    assert accounting["blocked"] == accounting["records_read"] - accounting["excluded_optout"]
    assert accounting["records_in_source"] == _rows(source)
    # ... and the task's error (its log) says it too.
    said = str(blocked.value)
    assert f"read {accounting['records_read']}" in said, said
    assert f"blocked {accounting['blocked']}" in said, said


def _q1_only(world: World, target: Path) -> Path:
    """The demo export with every operation after March left out (their complications stay)."""
    target.mkdir()
    for path in (world.demo / "csv-utf8").glob("dsaa_*.csv"):
        rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))
        header, body = rows[0], rows[1:]
        if "OPERATIEDATUM" in header:
            at = header.index("OPERATIEDATUM")
            body = [row for row in body if int(row[at].split("-")[1]) <= 3]
        out = io.StringIO()
        csv.writer(out, delimiter=";", lineterminator="\n").writerows([header, *body])
        (target / path.name).write_text(out.getvalue(), encoding="utf-8")
    return target


def test_nothing_to_deliver_says_where_every_record_went(world: World, tmp_path: Path) -> None:
    export = _q1_only(world, tmp_path / "q1-only")
    summary = start_run(REGISTRATION, "2026-Q3", input_path=export, run_id="nothing-in-q3")
    with pytest.raises(NothingToDeliver) as nothing:
        run_stage(
            "extract", summary["run_dir"], registration_id=REGISTRATION, run_id="nothing-in-q3"
        )
    said = str(nothing.value)
    found = re.search(
        r"in the source (\d+): .*?outside the period (\d+) before, (\d+) after, orphans (\d+)",
        said,
    )
    assert found, said
    source, before, after, orphans = (int(n) for n in found.groups())
    assert source == _rows(export) == before + after + orphans, said
    assert orphans > 0  # the complications of the operations left out


def test_a_retried_confirmation_after_its_folder_is_gone_says_what_was_delivered(
    world: World,
) -> None:
    run_id = "confirmed-then-retried"
    folder = _all_stages(run_id, "2026-Q1", world.demo / "csv-utf8")
    run_stage("deliver", folder, registration_id=REGISTRATION, run_id=run_id)
    first = run_stage("confirm_receipt", folder, registration_id=REGISTRATION, run_id=run_id)
    assert not folder.exists()

    again = run_stage("confirm_receipt", folder, registration_id=REGISTRATION, run_id=run_id)

    with world.store() as store:
        entry = load_ledger(store).current(REGISTRATION, "2026-Q1")
    assert entry is not None and entry.status == "receipted"
    assert again["confirmed_before"] is True
    assert again["idempotency_key"] == first["idempotency_key"] == entry.idempotency_key
    assert again["receipt_id"] == first["receipt_id"] == entry.receipt_id
    assert again["records"] == first["records"] == entry.record_counts
    assert again["accounting"] == first["accounting"]
    assert again["accounting"]["delivered"] == sum(entry.record_counts.values())
