"""The mid-run opt-out check answers alike whether it reads the whole register or the run's streams.

With fewer opt-out events in the log than the run has patients (per
``LOOKUP_COST_RATIO``), the check reads the whole register and asks Arrow which
of the run's references it names; otherwise it looks up the run's patients'
streams (``OptOutRegister.load_for``). Both must find the same patients: the
opted-out ones in the run, not the withdrawn ones, not the ones of other runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.errors import OptOutArrived
from aanlevering.events import EventStore, open_event_store
from aanlevering.optout.events import OPTOUT_EVENT_TYPES
from aanlevering.optout.ingests import record_ingest
from aanlevering.optout.register import LOOKUP_COST_RATIO
from aanlevering.optout.service import record_optouts
from aanlevering.optout.sources import OptOutEntry
from aanlevering.periods import Period
from aanlevering.pipeline.operations import check_no_new_optouts
from aanlevering.settings import Settings, load_settings

AS_OF = date(2027, 2, 1)


def _settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    (home / "optout-rules.yaml").write_text("effective_from: 2026-01-01\n")
    return load_settings({"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(home)})


def _record(store: EventStore, run: list[str]) -> None:
    """Three of the run's patients opted out, one withdrew, two others are not in the run."""
    entries = [OptOutEntry(ref, date(2027, 1, 20), True) for ref in run[:3]]
    entries.append(OptOutEntry(run[3], date(2027, 1, 20), True, withdrawn_on=date(2027, 1, 25)))
    entries += [OptOutEntry(f"pr_other{n:04d}", date(2027, 1, 20), True) for n in range(2)]
    record_optouts(store, entries)
    record_ingest(store, taken_at=datetime.now(UTC), source="ehr-csv", entries=6, patients=6)


@pytest.mark.parametrize("patients", [8, 200], ids=["streams", "whole-register"])
def test_both_ways_find_the_runs_opted_out_patients_only(tmp_path: Path, patients: int) -> None:
    settings = _settings(tmp_path)
    run = [f"pr_{n:08x}" for n in range(patients)]
    refs = {"operatie": pa.array(run), "complicatie": pa.array(run[:2] + run[5:7])}
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store:
        _record(store, run)
        events = store.count_types(OPTOUT_EVENT_TYPES, at_most=1_000)
        reads_whole = events <= (patients + 4) // LOOKUP_COST_RATIO
        assert reads_whole is (patients == 200)  # each way is taken by one case
        with pytest.raises(OptOutArrived, match=r": 3 patient\(s\) of this run opted out"):
            check_no_new_optouts(
                store, settings, "dica-dsaa", Period.parse("2026"), refs, as_of=AS_OF
            )


def test_a_run_without_opted_out_patients_passes_both_ways(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store:
        record_optouts(store, [OptOutEntry("pr_elsewhere", date(2027, 1, 20), True)])
        record_ingest(store, taken_at=datetime.now(UTC), source="ehr-csv", entries=1, patients=1)
        for patients in (4, 200):
            run = pa.array([f"pr_{n:08x}" for n in range(patients)])
            check_no_new_optouts(
                store, settings, "dica-dsaa", Period.parse("2026"), {"operatie": run}, as_of=AS_OF
            )
        check_no_new_optouts(store, settings, "dica-dsaa", Period.parse("2026"), {}, as_of=AS_OF)
