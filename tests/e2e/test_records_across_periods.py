"""Each record goes to one period, and a run says where every record of its extract went.

Through the real pipeline with the reference TTP and registry holder: a
record whose date the source moves from Q1 to Q2 after Q1 was delivered is
not delivered a second time (the Q2 run stops, naming Q1; the corrected Q1
leaves it out, then Q2 delivers it and says it moved; records moved both ways
stop both runs until one period is retracted), and the accounting of every
run, CSV or FHIR, adds up over the records outside the period too (decisions
0465-0467).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from aanlevering.catalogue import RegistrationConfig
from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import ExtractError, ValidationBlocked
from aanlevering.periods import Period
from aanlevering.pipeline.run import RunRequest, RunResult, run_delivery
from conftest import World

TODAY = date(2026, 11, 22)
Q1 = Period.parse("2026-Q1")


def _run(world: World, period: str, source: Path) -> RunResult:
    with world.store() as store:
        return run_delivery(
            world.config("dica-dsaa"),
            world.settings,
            RunRequest(
                "dica-dsaa",
                source,
                Period.parse(period),
                today=TODAY,
                allow_open_period=period == "2026-Q4",  # open on TODAY: up to TODAY (0393)
            ),
            world.ports(store),
        )


def _day(text: str) -> date:
    for pattern in ("%d-%m-%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise AssertionError(f"not a date: {text!r}")


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], body: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows([header, *body])
    path.write_text(out.getvalue(), encoding="utf-8")


def _operation_in(world: World, period: Period = Q1, first: bool = False) -> str:
    """The OK_ID of the period's last operation (``first``: its first)."""
    header, body = _read(world.demo / "csv-utf8" / "dsaa_operaties_2026.csv")
    at = header.index("OPERATIEDATUM")
    inside = [row for row in body if period.contains(_day(row[at]))]
    pick = min if first else max
    return pick(inside, key=lambda row: _day(row[at]))[header.index("OK_ID")]


def _moved_export(
    world: World, target: Path, ok_id: str, to: date = date(2026, 4, 1), *more: tuple[str, date]
) -> Path:
    """The demo export with operation ``ok_id`` (and its complications) dated ``to`` instead."""
    target.mkdir(parents=True)
    header, body = _read(world.demo / "csv-utf8" / "dsaa_operaties_2026.csv")
    shifts = {}
    for moved, day in ((ok_id, to), *more):
        row = next(r for r in body if r[header.index("OK_ID")] == moved)
        shifts[moved] = day - _day(row[header.index("OPERATIEDATUM")])
    for path in (world.demo / "csv-utf8").glob("dsaa_*.csv"):
        header, body = _read(path)
        columns = [
            c for c in ("OPNAMEDATUM", "OPERATIEDATUM", "ONTSLAGDATUM", "DATUM") if c in header
        ]
        for row in body:
            shift = shifts.get(row[header.index("OK_ID")])
            if shift is None:
                continue
            for column in columns:
                at = header.index(column)
                if row[at]:
                    row[at] = (_day(row[at]) + shift).strftime("%d-%m-%Y")
        _write(target / path.name, header, body)
    return target


def _complications_of(world: World, ok_id: str) -> int:
    header, body = _read(world.demo / "csv-utf8" / "dsaa_complicaties_2026.csv")
    return sum(1 for row in body if row[header.index("OK_ID")] == ok_id)


def _per_dataset(moved_records: int) -> dict[str, int]:
    complications = moved_records - 1
    return {"operatie": 1, **({"complicatie": complications} if complications else {})}


def test_a_record_whose_date_moved_to_q2_is_not_delivered_twice(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok_id = _operation_in(world)
    moved_records = 1 + _complications_of(world, ok_id)
    first = _run(world, "2026-Q1", world.demo / "csv-utf8")
    assert first.status == "delivered" and first.version == 1
    moved = _moved_export(world, tmp_path / "moved", ok_id)

    # Q2 first: the record is in Q1's current version, so Q2 stops and sends nothing.
    with pytest.raises(ValidationBlocked) as blocked:
        _run(world, "2026-Q2", moved)
    message = str(blocked.value)
    assert f"{moved_records} record(s)" in message and "2026-Q1 v1" in message
    assert "--period 2026-Q1" in message  # what to run to correct it
    assert ok_id not in message
    assert blocked.value.exit_code == 1
    assert not [e for e in world.holder.ledger() if ".2026-Q2." in e["idempotency_key"]]
    report = world.settings.reports_dir / "dica-dsaa" / "2026-Q2" / "v1" / "hospital-report.json"
    held = json.loads(report.read_text("utf-8"))["delivered_in_other_periods"]
    assert held == {"2026-Q1": {"version": 1, "records": _per_dataset(moved_records)}}

    # The corrected Q1 leaves it out, then Q2 delivers it and says where it came from.
    corrected = _run(world, "2026-Q1", moved)
    assert corrected.status == "delivered" and corrected.version == 2
    assert corrected.accounting["outside_after"] >= moved_records
    second = _run(world, "2026-Q2", moved)
    assert second.status == "delivered"
    assert second.accounting["moved_from"] == {"2026-Q1": moved_records}
    with world.store() as store:
        entry = load_ledger(store).versions("dica-dsaa", "2026-Q2")[-1]
    assert entry.accounting == second.accounting
    from aanlevering.cli.main import main

    capsys.readouterr()
    assert main(["status", "--registration", "dica-dsaa"]) == 0
    assert f"moved from 2026-Q1 {moved_records}" in capsys.readouterr().out
    hospital = json.loads(Path(second.validation_reports["hospital"]).read_text("utf-8"))
    assert hospital["accounting"]["moved_from"] == {"2026-Q1": moved_records}

    # Every delivered version's record keys are in the log as keyed digests, never the ids.
    with world.store() as store:
        texts = [json.dumps(r.payload) for r in store.read_all()]
    log_text = "\n".join(texts)
    with world.store() as store:
        digests = [
            r.payload for r in store.read_all() if r.event_type.endswith("RecordKeysDelivered")
        ]
    assert {(d["period"], d["version"]) for d in digests} == {
        ("2026-Q1", 1),
        ("2026-Q1", 2),
        ("2026-Q2", 1),
    }
    for payload in digests:  # 16 hex digits a record, nothing else
        assert re.fullmatch(r"(?:[0-9a-f]{16})*", payload["digests"])
        assert len(payload["digests"]) == 16 * payload["records"] > 0
    assert ok_id not in log_text


def test_every_record_of_the_extract_is_accounted_for_outside_the_period_too(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    header, body = _read(world.demo / "csv-utf8" / "dsaa_operaties_2026.csv")
    at = header.index("OPERATIEDATUM")
    days = {row[header.index("OK_ID")]: _day(row[at]) for row in body}
    c_header, c_body = _read(world.demo / "csv-utf8" / "dsaa_complicaties_2026.csv")
    parents = [row[c_header.index("OK_ID")] for row in c_body]
    period = Period.parse("2026-Q3")
    before = sum(1 for d in days.values() if d < period.start)
    before += sum(1 for p in parents if p in days and days[p] < period.start)
    after = sum(1 for d in days.values() if d >= period.end)
    after += sum(1 for p in parents if p in days and days[p] >= period.end)
    assert before and after  # the demo holds records on both sides of the quarter

    result = _run(world, "2026-Q3", world.demo / "csv-utf8")
    accounting = result.accounting
    assert accounting["outside_before"] == before
    assert accounting["outside_after"] == after
    assert accounting["records_in_source"] == len(body) + len(c_body)
    assert accounting["records_in_source"] == (
        accounting["outside_before"]
        + accounting["outside_after"]
        + accounting["orphans"]
        + accounting["records_read"]
    )
    assert accounting["records_read"] == (
        accounting["excluded_optout"] + accounting["dropped"] + accounting["delivered"]
    )
    with world.store() as store:
        entry = load_ledger(store).versions("dica-dsaa", "2026-Q3")[-1]
    assert entry.accounting == accounting
    from aanlevering.cli.main import main

    capsys.readouterr()
    assert main(["status", "--registration", "dica-dsaa"]) == 0
    assert f"outside the period {before} before, {after} after" in capsys.readouterr().out
    hospital = json.loads(Path(result.validation_reports["hospital"]).read_text("utf-8"))
    assert hospital["accounting"] == accounting


def test_a_fhir_run_accounts_for_its_records_outside_the_period_too(world: World) -> None:
    result = _run(world, "2026-Q2", world.demo / "fhir-bulk" / "dica-dsaa")
    accounting = result.accounting
    assert accounting["outside_before"] > 0 and accounting["outside_after"] > 0
    assert accounting["records_in_source"] == (
        accounting["outside_before"]
        + accounting["outside_after"]
        + accounting["orphans"]
        + accounting["records_read"]
    )
    assert accounting["records_read"] == (
        accounting["excluded_optout"] + accounting["dropped"] + accounting["delivered"]
    )


def test_records_moved_both_ways_stop_both_runs_until_one_period_is_retracted(
    world: World, tmp_path: Path
) -> None:
    from aanlevering.retract import retract_period

    q3, q4 = Period.parse("2026-Q3"), Period.parse("2026-Q4")
    late_q3 = _operation_in(world, q3)
    early_q4 = _operation_in(world, q4, first=True)
    for period in ("2026-Q3", "2026-Q4"):
        assert _run(world, period, world.demo / "csv-utf8").status in {
            "delivered",
            "already-delivered",
        }
    swapped = _moved_export(
        world, tmp_path / "swapped", late_q3, date(2026, 10, 1), (early_q4, date(2026, 9, 30))
    )
    with pytest.raises(ValidationBlocked, match="in 2026-Q3 v"):
        _run(world, "2026-Q4", swapped)
    with pytest.raises(ValidationBlocked, match="in 2026-Q4 v"):
        _run(world, "2026-Q3", swapped)

    # The way out decision 0465 names: retract one period, deliver the other, then the first.
    with world.store() as store:
        retract_period(
            world.config("dica-dsaa"), world.settings, q4, world.ports(store), reason="swap"
        )
    into_q3 = _run(world, "2026-Q3", swapped)
    assert into_q3.status == "delivered"
    assert into_q3.accounting["moved_from"] == {"2026-Q4": 1 + _complications_of(world, early_q4)}
    into_q4 = _run(world, "2026-Q4", swapped)
    assert into_q4.status == "delivered"
    assert into_q4.accounting["moved_from"] == {"2026-Q3": 1 + _complications_of(world, late_q3)}


def _key_optional(world: World) -> RegistrationConfig:
    """dica-dsaa with ``operatie_id`` optional: a dictionary may leave a key unrequired."""
    config = world.config("dica-dsaa")
    dictionary = config.dictionary
    datasets = []
    for dataset in dictionary.datasets:
        variables = tuple(
            replace(v, required_for=frozenset()) if v.name == "operatie_id" else v
            for v in dataset.variables
        )
        datasets.append(replace(dataset, variables=variables))
    return replace(config, dictionary=replace(dictionary, datasets=tuple(datasets)))


def _empty_key_export(world: World, target: Path, period: Period) -> Path:
    """The demo export with one operation of ``period`` (no complications) without its OK_ID."""
    header, body = _read(world.demo / "csv-utf8" / "dsaa_operaties_2026.csv")
    at, key = header.index("OPERATIEDATUM"), header.index("OK_ID")
    lonely = next(
        row[key]
        for row in body
        if period.contains(_day(row[at])) and not _complications_of(world, row[key])
    )
    target.mkdir()
    for path in (world.demo / "csv-utf8").glob("dsaa_*.csv"):
        header, body = _read(path)
        if path.name == "dsaa_operaties_2026.csv":
            for row in body:
                if row[key] == lonely:
                    row[key] = ""
        _write(target / path.name, header, body)
    return target


def test_a_record_with_an_empty_required_key_blocks_validation(
    world: World, tmp_path: Path
) -> None:
    """The dictionary requires operatie_id: an empty one blocks, nothing is sent (0495)."""
    source = _empty_key_export(world, tmp_path / "empty-key", Period.parse("2026-Q2"))
    held = world.holder.ledger()
    with pytest.raises(ValidationBlocked, match="validation failed"):
        _run(world, "2026-Q2", source)
    assert world.holder.ledger() == held  # nothing sent


def test_a_record_with_an_empty_optional_key_is_delivered_and_counted_not_followable(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its record has no digest, so no later run can see it here: the run says so (0495)."""
    source = _empty_key_export(world, tmp_path / "empty-key", Period.parse("2026-Q2"))
    with world.store() as store:
        result = run_delivery(
            _key_optional(world),
            world.settings,
            RunRequest("dica-dsaa", source, Period.parse("2026-Q2"), today=TODAY),
            world.ports(store),
        )
    assert result.status == "delivered"
    assert result.accounting["not_followable"] == {"operatie": 1}
    with world.store() as store:
        entry = load_ledger(store).versions("dica-dsaa", "2026-Q2")[-1]
    assert entry.accounting["not_followable"] == {"operatie": 1}
    from aanlevering.cli.main import main

    capsys.readouterr()
    assert main(["status", "--registration", "dica-dsaa"]) == 0
    assert "not followable across periods: operatie 1" in capsys.readouterr().out
    hospital = json.loads(Path(result.validation_reports["hospital"]).read_text("utf-8"))
    assert hospital["accounting"]["not_followable"] == {"operatie": 1}
    # The registry holder's copy of the report says so too (counts only).
    key = str(entry.idempotency_key)
    (held,) = (world.holder.home / "storage" / "deliveries").glob(f"*/{key}/accepted")
    copy = json.loads((held / "validation-report.json").read_text("utf-8"))
    assert copy["accounting"]["not_followable"] == {"operatie": 1}
    assert "cannot be followed across periods" in (held / "validation-report.html").read_text()


def test_an_export_without_its_key_column_is_refused_before_anything_is_sent(
    world: World, tmp_path: Path
) -> None:
    """No OK_ID column: the extract stops, naming the file and column (0495)."""
    source = tmp_path / "no-key-column"
    source.mkdir()
    for path in (world.demo / "csv-utf8").glob("dsaa_*.csv"):
        header, body = _read(path)
        if path.name == "dsaa_operaties_2026.csv":
            at = header.index("OK_ID")
            header = header[:at] + header[at + 1 :]
            body = [row[:at] + row[at + 1 :] for row in body]
        _write(source / path.name, header, body)
    held = world.holder.ledger()
    with pytest.raises(ExtractError, match=r"missing column\(s\): OK_ID") as refused:
        _run(world, "2026-Q2", source)
    assert refused.value.exit_code != 0
    assert world.holder.ledger() == held  # nothing sent
