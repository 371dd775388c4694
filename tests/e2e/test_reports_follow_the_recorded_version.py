"""A run's reports lie in the folder of the version the ledger records for it (decision 0971).

Deliver A as v1 (ttp-local: the receiver cannot be asked what it holds),
back up the event log, deliver B as v2, restore the backup and deliver C:
the log alone numbers C v2, the registry holder answers that it holds v2
with other content, and C is delivered as v3. The run wrote its validation
report and hospital report into ``reports/.../v2`` (over B's), and ``v3``,
the version the ledger records for it, had none. Now they follow the run to
v3 and say so. Real TTP and registry holder processes.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

from aanlevering.deliver.ledger import load_ledger
from aanlevering.obligation.decisions import RegisterDecision, to_event
from aanlevering.obligation.events import stream_name
from aanlevering.periods import Period
from aanlevering.pipeline.run import RunRequest, RunResult, run_delivery
from conftest import World
from support.receivers import back_up, restore

REGISTRATION, PERIOD = "nkr-borst", "2026"
TODAY = date(2026, 11, 22)


def _run(world: World, source: Path) -> RunResult:
    with world.store() as store:
        return run_delivery(
            world.config(REGISTRATION),
            world.settings,
            RunRequest(
                REGISTRATION, source, Period.parse(PERIOD), today=TODAY, allow_open_period=True
            ),
            world.ports(store),
        )


def _export_with_tumour_size(world: World, target: Path, size: int) -> Path:
    """The demo FHIR export with every measured tumour size set to ``size`` mm."""
    shutil.copytree(world.demo / "fhir-bulk" / REGISTRATION, target)
    for file in target.glob("*.ndjson"):
        lines = []
        for line in file.read_text(encoding="utf-8").splitlines():
            resource = json.loads(line) if line.strip() else None
            codes = json.dumps(resource.get("code")) if isinstance(resource, dict) else ""
            measured = isinstance(resource, dict) and resource.get("resourceType") == "Observation"
            if isinstance(resource, dict) and measured and "TUMORGROOTTE" in codes:
                resource["valueQuantity"]["value"] = size
                lines.append(json.dumps(resource))
            else:
                lines.append(line)
        file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def _hospital_report(folder: Path) -> dict[str, object]:
    report: dict[str, object] = json.loads((folder / "hospital-report.json").read_text("utf-8"))
    return report


def test_the_reports_of_a_version_the_holder_held_go_to_the_version_delivered(
    world: World, tmp_path: Path
) -> None:
    with world.store() as store:
        included = RegisterDecision(
            registration=REGISTRATION,
            kind="included",
            decided_on=date(2026, 3, 1),
            effective_from=date(2026, 3, 1),
            term_years=5,
        )
        store.append(stream_name(REGISTRATION), [to_event(included)], None)
    reports = world.settings.reports_dir / REGISTRATION / PERIOD
    first = _run(world, _export_with_tumour_size(world, tmp_path / "a", 11))
    assert (first.status, first.version) == ("delivered", 1)
    back_up(world, tmp_path / "before-v2.sqlite3")
    second = _run(world, _export_with_tumour_size(world, tmp_path / "b", 22))
    assert (second.status, second.version) == ("delivered", 2)
    b_report = (reports / "v2" / "validation-report.json").read_bytes()
    restore(world, tmp_path / "before-v2.sqlite3")

    third = _run(world, _export_with_tumour_size(world, tmp_path / "c", 33))

    assert (third.status, third.version) == ("delivered", 3)  # v2 was the holder's already
    key = f"demo-hospital.{REGISTRATION}.{PERIOD}.v3"
    with world.store() as store:
        entry = load_ledger(store).entries[key]
    assert entry.validation_report == str(reports / "v3" / "validation-report.json")
    for name in ("validation-report.html", "validation-report.json", "hospital-report.json"):
        assert (reports / "v3" / name).is_file(), name
    assert third.validation_reports["html"] == str(reports / "v3" / "validation-report.html")
    delivery = _hospital_report(reports / "v3")["delivery"]
    assert isinstance(delivery, dict)
    assert (delivery["status"], delivery["idempotency_key"]) == ("delivered", key)
    assert delivery["version"] == 3
    # v2's folder is not this run's: it is left with B's report, not overwritten by C's.
    assert (reports / "v2" / "validation-report.json").read_bytes() == b_report
    v2 = _hospital_report(reports / "v2")["delivery"]
    assert isinstance(v2, dict) and v2["idempotency_key"].endswith(".v2")
