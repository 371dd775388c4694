"""A run of a period that has not closed delivers the records dated up to its day (decision 0393).

``--allow-open-period`` delivers a period so far (a year-to-date delivery). A
record dated after the run's day, a planned operation or a mistyped date,
describes care that has not happened: it is left out and counted outside the
period, and the run after the period closes delivers it if it happened.
Real extract of the fixture export, with proc-1 moved to 15 April (proc-2 is on
4 May, proc-3 in 2025).
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.events import open_event_store
from aanlevering.periods import Period
from aanlevering.pipeline import stages
from aanlevering.pipeline.run import Ports
from aanlevering.pipeline.state import MemoryRunState
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"


def _extracted(tmp_path: Path, period: str, today: date) -> tuple[list[str], int]:
    home = tmp_path / "home"
    home.mkdir()
    catalogue = str(REPO / "schemas" / "catalogue")
    settings = load_settings(
        {
            "AANLEVERING_DEMO_MODE": "yes",
            "AANLEVERING_HOME": str(home),
            "AANLEVERING_CATALOGUE": catalogue,
        }
    )
    config = load_catalogue(settings.catalogue_dir).get("dica-dsaa")
    export = tmp_path / "export"
    shutil.copytree(NL, export)
    path = export / "Procedure.ndjson"
    resources = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    for resource in resources:
        if resource["id"] == "proc-1":
            resource["performedDateTime"] = "2026-04-15T10:00:00+02:00"
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), "utf-8")
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store:
        ports = Ports(store, None, lambda config, folder: OutboxChannel(tmp_path / "out"))  # type: ignore[arg-type]
        state = MemoryRunState(tmp_path / "run-1")
        state.update(
            **stages.initial_values(
                registration_id="dica-dsaa",
                period=Period.parse(period),
                run_id="1",
                today=today,
                input_path=export,
                outbox=None,
                allow_open_period=True,
                one_process=True,
            )
        )
        ctx = stages.RunContext.from_values(config, settings, ports, state.values())
        stages.extract(ctx, state)
        extracted, _ = state.load_extract("extract")
    assert extracted.period == Period.parse(period)  # later stages see the whole period
    operaties = extracted.datasets["operatie"]
    return operaties.clinical.column("operatie_id").to_pylist(), operaties.rows_outside_period


def test_a_record_dated_after_the_run_day_is_left_for_a_later_run(tmp_path: Path) -> None:
    ids, outside = _extracted(tmp_path, "2026-Q2", date(2026, 5, 3))
    assert ids == ["proc-1"]
    assert outside == 2  # proc-3 (2025) and proc-2 (after the run's day)


def test_a_record_dated_on_the_run_day_is_delivered(tmp_path: Path) -> None:
    ids, outside = _extracted(tmp_path, "2026-Q2", date(2026, 5, 4))
    assert ids == ["proc-1", "proc-2"] and outside == 1


def test_a_closed_period_is_delivered_whole(tmp_path: Path) -> None:
    ids, _ = _extracted(tmp_path, "2026-Q2", date(2026, 7, 1))
    assert ids == ["proc-1", "proc-2"]


def test_the_cut_period_keeps_its_label() -> None:
    period = Period.parse("2026-Q2")
    cut = period.up_to(date(2026, 5, 3))
    assert (cut.label, cut.start, cut.end) == ("2026-Q2", date(2026, 4, 1), date(2026, 5, 4))
    assert period.up_to(date(2026, 6, 30)) == period
    assert period.up_to(date(2026, 3, 1)).end == period.start  # not begun: covers nothing
