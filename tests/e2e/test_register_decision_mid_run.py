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
