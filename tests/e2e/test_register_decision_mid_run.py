"""A negative register decision that arrives while runs are under way stops them all.

Found attacking the obligation's lifecycle (decision 0640): the stages of an
Airflow run are tasks that may run days apart (a retried or cleared task),
and each checked the register as of the day the run *began*, which its
folder keeps. A run begun before a negative decision delivered after it, and
the TTP was offered the patients of a registration that may no longer
deliver. Both runs here take the Airflow path (a run folder, one stage per
call) against the real TTP process, into an outbox.
"""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import date
from pathlib import Path

import pytest

from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import NoObligation
from aanlevering.obligation.decisions import RegisterDecision
from aanlevering.obligation.service import record_decisions
from aanlevering.periods import run_day
from aanlevering.pipeline.lock import LockScope, current_holder
from aanlevering.pseudonym.service import pseudonym_stream
from aanlevering.runs.steps import run_stage, start_run
from conftest import World
from support.forked_cli import run_cli, start_cli

REGISTRATION = "ldtr"  # before_inclusion: deliver, no decision yet in this module
BEGAN = date(2026, 11, 15)  # the day both runs began, before the decision


def _begin(world: World, period: str, run_id: str, *stages: str) -> Path:
    """An LDTR run begun on BEGAN, taken through ``stages``: its run folder."""
    summary = start_run(
        REGISTRATION, period, today=BEGAN, input_path=world.demo / "csv-utf8", run_id=run_id
    )
    for name in stages:
        run_stage(name, summary["run_dir"], registration_id=REGISTRATION, run_id=run_id)
    return Path(summary["run_dir"])


def test_a_negative_decision_stops_runs_begun_before_it_on_the_day_their_tasks_run(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = tmp_path / "outbox"
    monkeypatch.setenv("AANLEVERING_OUTBOX__LDTR", str(outbox))
    staged = _begin(
        world,
        "2026-10",
        "staged-before-the-decision",
        "extract", "apply_optouts", "validate", "pseudonymise", "build_output",
    )  # fmt: skip
    validated = _begin(
        world, "2026-09", "validated-before-the-decision", "extract", "apply_optouts", "validate"
    )
    today = run_day()  # later than BEGAN: the tasks below run days after their runs began
    with world.store() as store:
        record_decisions(
            store,
            [RegisterDecision(REGISTRATION, "rejected", decided_on=today, effective_from=today)],
        )

    with pytest.raises(NoObligation, match="negative register decision"):
        run_stage(
            "deliver", staged, registration_id=REGISTRATION, run_id="staged-before-the-decision"
        )
    with pytest.raises(NoObligation, match="negative register decision"):
        run_stage(
            "pseudonymise",
            validated,
            registration_id=REGISTRATION,
            run_id="validated-before-the-decision",
        )

    assert not list(outbox.rglob("*.json"))  # nothing left the hospital
    assert not staged.exists() and not validated.exists()  # no identifiers kept
    with world.store() as store:
        ledger = load_ledger(store)
        assert [e.status for e in ledger.versions(REGISTRATION, "2026-10")] == ["aborted"]
        assert ledger.versions(REGISTRATION, "2026-09") == []
        assert not store.read_stream(pseudonym_stream(REGISTRATION, "2026-09"))  # TTP: nobody
        for period in ("2026-10", "2026-09"):  # both periods are free again
            holder = current_holder(
                store, LockScope(world.settings.provider_id, REGISTRATION, period)
            )
            assert holder is not None and holder.run_id == ""


def _q1_mrn(world: World) -> str:
    """The patient number of a patient operated on in 2026-Q1 (in that period's delivery)."""
    for file in sorted((world.demo / "csv-utf8").glob("dsaa_operaties*.csv")):
        for row in csv.DictReader(io.StringIO(file.read_text("utf-8-sig")), delimiter=";"):
            if row["OPERATIEDATUM"][3:10] in {"01-2026", "02-2026", "03-2026"}:
                return row["PATIENTNUMMER"]
    raise AssertionError("no operation in 2026-Q1 in the demo export")


def test_a_delivery_sent_without_receipt_before_a_negative_decision_is_named_for_deletion(
    world: World, tmp_path: Path
) -> None:
    """The registry holder stored v1, its receipt was lost, then delivery stopped for good (0642).

    No run may repair the version's contents any more (a rerun is refused), yet the
    registry holder holds the patients: the deletion answer must name it.
    """
    key = f"{world.settings.provider_id}.dica-dsaa.2026-Q1.v1"
    env = {**world.env, "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    run = ["run", "--registration", "dica-dsaa"]
    run += ["--input", str(world.demo / "csv-utf8"), "--period", "2026-Q1"]
    world.holder.faults(drop_receipt=100)  # stored at the registry holder, no receipt back
    try:
        with open(os.devnull, "wb") as nothing, (tmp_path / "run.log").open("wb") as log:
            process = start_cli(
                run, env=env, stdin=nothing.fileno(), stdout=nothing.fileno(), stderr=log.fileno()
            )
        deadline = time.monotonic() + 120
        while key not in {e["idempotency_key"] for e in world.holder.ledger()}:
            assert process.poll() is None, (tmp_path / "run.log").read_text()[-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.2)
        process.kill()
        process.wait(timeout=10)
    finally:
        world.holder.faults(drop_receipt=0)
    today = run_day()
    with world.store() as store:
        record_decisions(
            store,
            [RegisterDecision("dica-dsaa", "rejected", decided_on=today, effective_from=today)],
        )
    refused = run_cli(run, env=env, timeout=300)
    assert refused.returncode == 3, refused.stderr[-2000:]  # no run repairs anything now

    asked = run_cli(
        ["optout", "deliveries", "--mrn", "-"], input=_q1_mrn(world) + "\n", env=env, timeout=120
    )
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert asked.stdout.splitlines() == [
        "registration\tperiod\tversion\treceipt",
        "dica-dsaa\t2026-Q1\tv1\tnone: sent, the registry holder may hold it",
    ]
