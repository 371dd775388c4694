"""Every count a run shows adds up to what it read, wherever it is shown.

Through the real pipeline with the reference TTP and registry holder (real
processes over 127.0.0.1): the run's stages are executed one at a time, as the
Airflow tasks run them, and every accounting line the run logs and every
accounting a task hands on (its XCom summary) adds up, the last ones to the
records the delivery holds (decision 0690); the registry holder's copy of the
validation report adds up to the records in the source, outside the period
included, and its numbers are the lines of the delivered files (decision
0691); a FHIR export holding a second copy of a record and a record entered
in error says where those went, in the run, the ledger and the holder's copy
(decision 0692).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from aanlevering.deliver.ledger import LedgerEntry, load_ledger
from aanlevering.periods import Period
from aanlevering.pipeline.run import RunRequest, start_state
from aanlevering.pipeline.stages import STAGES, RunContext, execute_stage
from aanlevering.pipeline.state import MemoryRunState
from conftest import World

TODAY = date(2026, 11, 22)
REGISTRATION = "dica-dsaa"

#: The accounting line of the run log (``Accounting.describe``), numbers captured.
_LINE = re.compile(
    r"in the source (?P<source>\d+): (?P<set_aside>.*?)outside the period (?P<before>\d+) "
    r"before, (?P<after>\d+) after, orphans (?P<orphans>\d+); read (?P<read>\d+), excluded by "
    r"opt-out (?P<excluded>\d+), patients \d+, without a pseudonym type: .*?, without any "
    r"pseudonym \d+, dropped (?P<dropped>\d+), (?P<what>delivered|to deliver) (?P<n>\d+)"
)


def _stages(world: World, period: str, source: Path) -> list[dict[str, Any]]:
    """Every stage of one run, one at a time as the Airflow tasks run them; their summaries."""
    config = world.config(REGISTRATION)
    request = RunRequest(REGISTRATION, source, Period.parse(period), today=TODAY)
    with world.store() as store:
        ports = world.ports(store)
        state = start_state(MemoryRunState, config, world.settings, request)
        ctx = RunContext.from_values(config, world.settings, ports, state.values())
        return [execute_stage(stage, ctx, state) for stage in STAGES]


def _entry(world: World, period: str) -> LedgerEntry:
    with world.store() as store:
        return load_ledger(store).versions(REGISTRATION, period)[-1]


def _adds_up(accounting: dict[str, Any]) -> None:
    set_aside = sum((accounting.get("duplicates") or {}).values()) + sum(
        (accounting.get("entered_in_error") or {}).values()
    )
    assert accounting["records_in_source"] == (
        set_aside
        + accounting["outside_before"]
        + accounting["outside_after"]
        + accounting["orphans"]
        + accounting["records_read"]
    )
    assert accounting["records_read"] == (
        accounting["excluded_optout"] + accounting["dropped"] + accounting["delivered"]
    )


def _held(world: World, entry: LedgerEntry) -> Path:
    """The registry holder's accepted folder of ``entry``."""
    storage = world.holder.home / "storage" / "deliveries"
    (folder,) = storage.glob(f"*/{entry.idempotency_key}/accepted")
    return Path(folder)


def _data_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))


def test_every_accounting_the_run_logs_or_hands_on_adds_up(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="aanlevering.pipeline.stages"):
        summaries = _stages(world, "2026-Q2", world.demo / "csv-utf8")
    entry = _entry(world, "2026-Q2")
    final = entry.accounting
    assert entry.status == "receipted" and final["delivered"] == sum(entry.record_counts.values())
    _adds_up(final)

    lines = [m for r in caplog.records if (m := _LINE.search(r.getMessage()))]
    assert lines, "the run logs its accounting"
    for line in lines:  # each line adds up: no "delivered 0" of records about to be delivered
        n = {k: int(v) for k, v in line.groupdict().items() if k not in {"what", "set_aside"}}
        assert n["source"] == n["before"] + n["after"] + n["orphans"] + n["read"]
        assert n["read"] == n["excluded"] + n["dropped"] + n["n"], line.group(0)
    delivered = [line for line in lines if line.group("what") == "delivered"]
    assert delivered and int(delivered[-1].group("n")) == final["delivered"]

    # What the tasks hand on (XCom): no task says "delivered 0" of a delivered run, and the
    # last tasks carry the run's final accounting, the one the ledger holds.
    named = dict(zip((s.name for s in STAGES), summaries, strict=True))
    for name, summary in named.items():
        accounting = summary.get("accounting")
        if accounting and "delivered" in accounting:
            assert accounting["delivered"] == final["delivered"], name
    # Staged is not delivered: build_output hands on the records awaiting the receipt (0751).
    staged = named["build_output"]["accounting"]
    assert "delivered" not in staged and staged["unreceipted"] == final["delivered"]
    assert {k: v for k, v in staged.items() if k != "unreceipted"} == {
        k: v for k, v in final.items() if k not in {"delivered", "unreceipted"}
    }
    assert named["confirm_receipt"]["accounting"] == final


def test_the_registry_holders_report_adds_up_to_the_records_in_the_source(world: World) -> None:
    source = world.demo / "csv-utf8"
    in_source = sum(len(_data_rows(path)) for path in source.glob("dsaa_*.csv"))
    summaries = _stages(world, "2026-Q3", source)
    assert summaries[-1]["registration"] == REGISTRATION
    entry = _entry(world, "2026-Q3")
    ours = entry.accounting
    assert ours["records_in_source"] == in_source
    assert ours["outside_before"] and ours["outside_after"]  # records on both sides

    held = _held(world, entry)
    copy = json.loads((held / "validation-report.json").read_text("utf-8"))["accounting"]
    _adds_up(copy)
    for key in (
        "records_in_source",
        "outside_before",
        "outside_after",
        "orphans",
        "records_read",
        "excluded_optout",
        "without_pseudonym",
        "dropped",
        "delivered",
        "moved_from",
        "unchecked_periods",
    ):
        assert copy[key] == ours[key], key
    # The delivered files hold exactly the records the report and the manifest say.
    manifest = json.loads((held.parent / "manifest.json").read_text("utf-8"))
    lines = {name: len(_data_rows(held / f"{name}.csv")) for name in manifest["record_counts"]}
    assert lines == manifest["record_counts"] == entry.record_counts
    assert sum(lines.values()) == copy["delivered"]
    # ... and the patients the report names, less those without any pseudonym.
    header = _data_rows(held / "operatie.csv")[0]
    columns = [c for c in header if re.fullmatch(r"pseudoniem_[A-Za-z0-9]+", c)]
    assert columns
    patients = {
        tuple(row[c] for c in columns)
        for name in manifest["record_counts"]
        for row in _data_rows(held / f"{name}.csv")
    }
    assert len(patients) == copy["patients"] - copy["without_pseudonym"] > 0
    html = (held / "validation-report.html").read_text("utf-8")
    assert f'<tr><th>Records in the source</th><td class="num">{in_source}</td></tr>' in html


def _codes(resource: dict[str, Any], element: str) -> set[str]:
    value = resource.get(element)
    concepts = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return {c.get("code", "") for concept in concepts for c in concept.get("coding", ())}


def _planted_fhir(world: World, target: Path) -> tuple[Path, int]:
    """The demo's dsaa bulk export with a second copy of one operation and one entered in error.

    Returns the folder and the number of records it holds, counted by hand: the
    operations (Procedures of the dataset's codes, copies included) and the
    complications (Conditions of category ``complicatie``).
    """
    shutil.copytree(world.demo / "fhir-bulk" / REGISTRATION, target)
    (path,) = target.glob("Procedure*.ndjson")
    resources = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    operations = [r for r in resources if any(c.startswith("AAA-") for c in _codes(r, "code"))]
    copy = dict(operations[0])  # the same resource twice, as two concatenated exports hold it
    wrong = dict(operations[1], id=f"{operations[1]['id']}-eie", status="entered-in-error")
    text = "".join(json.dumps(r) + "\n" for r in [*resources, copy, wrong])
    path.write_text(text, encoding="utf-8")
    complications = sum(
        1
        for file in target.glob("Condition*.ndjson")
        for line in file.read_text("utf-8").splitlines()
        if line and "complicatie" in _codes(json.loads(line), "category")
    )
    return target, len(operations) + 2 + complications


def test_a_second_copy_and_a_record_entered_in_error_are_counted(
    world: World, tmp_path: Path
) -> None:
    from aanlevering.deliver.accounting import Accounting

    export, in_source = _planted_fhir(world, tmp_path / "planted")
    summaries = _stages(world, "2026-Q1", export)
    assert summaries[-1]["receipt_id"]
    entry = _entry(world, "2026-Q1")
    accounting = entry.accounting
    assert accounting["duplicates"] == {"operatie": 1}
    assert accounting["entered_in_error"] == {"operatie": 1}
    assert accounting["records_in_source"] == in_source
    _adds_up(accounting)
    line = Accounting.from_summary(accounting).describe()
    assert "second copies left out: operatie 1" in line
    assert "entered in error left out: operatie 1" in line

    copy = json.loads((_held(world, entry) / "validation-report.json").read_text("utf-8"))
    assert copy["accounting"]["duplicates"] == {"operatie": 1}
    assert copy["accounting"]["entered_in_error"] == {"operatie": 1}
    _adds_up(copy["accounting"])


def _day(text: str) -> date:
    for pattern in ("%d-%m-%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise AssertionError(f"not a date: {text!r}")


def _one_without_names(source: Path, target: Path) -> Path:
    """The demo's dsaa CSV export with the birth names of a patient operated in Q4 left empty."""
    target.mkdir()
    for path in source.glob("dsaa_*.csv"):
        rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))
        header, body = rows[0], rows[1:]
        if "GESLACHTSNAAM" in header:
            at = header.index("OPERATIEDATUM")
            first = next(
                row[header.index("PATIENTNUMMER")]
                for row in body
                if date(2026, 10, 1) <= _day(row[at]) < TODAY
            )
            for row in body:
                if row[header.index("PATIENTNUMMER")] == first:
                    row[header.index("GESLACHTSNAAM")] = row[header.index("VOORVOEGSELS")] = ""
        out = io.StringIO()
        csv.writer(out, delimiter=";", lineterminator="\n").writerows([header, *body])
        (target / path.name).write_text(out.getvalue(), encoding="utf-8")
    return target


def test_a_stopped_run_says_its_records_were_blocked(world: World, tmp_path: Path) -> None:
    from dataclasses import replace

    from aanlevering.errors import ValidationBlocked
    from aanlevering.pipeline.run import run_delivery

    export = _one_without_names(world.demo / "csv-utf8", tmp_path / "one-without-names")
    base = world.config(REGISTRATION)
    strict = replace(base, validation=replace(base.validation, max_unpseudonymised_share=0.0))
    with world.store() as store, pytest.raises(ValidationBlocked, match="too many patients"):
        run_delivery(
            strict,
            world.settings,
            RunRequest(
                REGISTRATION, export, Period.parse("2026-Q4"), today=TODAY, allow_open_period=True
            ),
            world.ports(store),
        )
    report = world.settings.reports_dir / REGISTRATION / "2026-Q4" / "v1" / "hospital-report.json"
    accounting = json.loads(report.read_text("utf-8"))["accounting"]
    assert accounting["delivered"] == 0
    assert (
        accounting["blocked"]
        == (accounting["records_read"] - accounting["excluded_optout"] - accounting["dropped"])
        > 0
    )
    assert accounting["records_read"] == (
        accounting["excluded_optout"]
        + accounting["dropped"]
        + accounting["delivered"]
        + accounting["blocked"]
    )


def test_status_says_which_versions_the_registry_holder_no_longer_holds(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from aanlevering.cli.main import main
    from aanlevering.pipeline.run import run_delivery
    from aanlevering.retract import retract_period

    period = Period.parse("2026-Q4")  # open on TODAY: delivered up to it (0393)
    with world.store() as store:
        first = run_delivery(
            world.config(REGISTRATION),
            world.settings,
            RunRequest(
                REGISTRATION, world.demo / "csv-utf8", period, today=TODAY, allow_open_period=True
            ),
            world.ports(store),
        )
        retract_period(
            world.config(REGISTRATION),
            world.settings,
            period,
            world.ports(store),
            reason="delivered without a legal basis",
            today=TODAY,
        )
    assert first.status == "delivered" and first.version == 1
    capsys.readouterr()
    assert main(["status", "--registration", REGISTRATION]) == 0
    out = capsys.readouterr().out
    (v1,) = [line for line in out.splitlines() if " 2026-Q4 v1 " in line]
    (v2,) = [line for line in out.splitlines() if " 2026-Q4 v2 " in line]
    # v1's records are shown, and that the registry holder no longer holds them.
    assert f"operatie {first.record_counts['operatie']}" in v1
    assert "withdrawn by the retraction v2" in v1
    assert "retraction of v1" in v2 and "opt-out excluded" not in v2
