"""What a failed or blocked run leaves behind holds no identifier of its input.

Each test drives one run into one failure with the demo's identifiers in its input,
then searches everything written at once (var/, the registry holder's storage and
log, the TTP's log, the CLI's output, the event log) for them: a later run of the
module must not be able to hide a leak by overwriting the file that held it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from test_run_pipeline import _rewrite_operaties, _with_free_text

from aanlevering.deliver.ledger import load_ledger
from aanlevering.pipeline.lock import LockScope, acquire, release
from conftest import CATALOGUE, World, fhir_identity_values, identity_values
from support.forked_cli import run_cli
from support.leaks import FileLeakSearch
from support.servers import PYTHON, ServerProcess, running_server

#: Where the LDTR runs deliver (a folder of ``world.home``).
OUTBOX = "outbox-leaks"


def _cli(world: World, catalogue: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a hospital runs it, with ``catalogue``."""
    return world.cli(catalogue, *args)


def _run_dsaa(world: World, catalogue: Path, source: Path) -> subprocess.CompletedProcess[str]:
    arguments = ["--registration", "dica-dsaa", "--input", str(source), "--period", "2026-Q4"]
    return _cli(world, catalogue, "run", *arguments, "--allow-open-period")


def _written(world: World, outbox: Path) -> list[Path]:
    """Every file the hospital's side and its counterparties wrote (keys left out)."""
    roots = (world.home / "var", world.holder.home / "storage", outbox)
    written = [
        p
        for root in roots
        if root.exists()
        for p in root.rglob("*")
        if p.is_file() and "secrets" not in p.parts
    ]
    return [*written, world.holder.home / "registry-holder.log", world.home / "ttp.log"]


#: Every file's verdict kept by content: what earlier runs wrote and left unchanged (their
#: reports, the data docs' images) is not searched again after each later run (decision 0860).
_SEARCH = FileLeakSearch()


def leaks_left(
    world: World, identifiers: Iterable[str], *outputs: str, outbox: Path | None = None
) -> list[tuple[str, str]]:
    """(where, value) of every planted identifier in what was written or printed.

    ``outbox``: the outbox folder the module's runs deliver into (default ``OUTBOX``).
    """
    planted = frozenset(identifiers)
    finder = _SEARCH.finder(planted)
    leaks = [("cli output", value) for text in outputs for value in finder.found_in(text)]
    for path in _written(world, outbox or world.home / OUTBOX):
        leaks += [(str(path), value) for value in _SEARCH.found_in_file(planted, path)]
    return leaks


@dataclass(frozen=True)
class BirthDateRun:
    """Decision 0340's blocked run, and what was searched and read right after it."""

    result: subprocess.CompletedProcess[str]
    births: frozenset[str]  # as the export writes them (dd-mm-yyyy)
    leaks: list[tuple[str, str]]  # of the births in both forms and the demo's identifiers
    reports_written: bool
    staged_csvs: list[Path]
    versions: list[object]
    logged: str


@pytest.fixture(scope="module")
def birth_date_as_date_of_death(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> BirthDateRun:
    """The export's birth date under a name of its own, mapped to the date of death.

    One CLI run for the two tests that asked for it (decision 0861): the catalogue
    guard's exit and message, and that nothing of it stayed anywhere.
    """
    work = tmp_path_factory.mktemp("birth-date")
    catalogue = work / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    registration = catalogue / "registrations" / "dica-dsaa.yaml"
    registration.write_text(
        registration.read_text(encoding="utf-8").replace(
            "          OVERLIJDENSDATUM: datum_overlijden\n", "          GEB_DT: datum_overlijden\n"
        ),
        encoding="utf-8",
    )
    source = work / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    births: set[str] = set()

    def birth_date_as_geb_dt(row: dict[str, str]) -> None:  # instead of the date of death
        del row["OVERLIJDENSDATUM"]
        row["GEB_DT"] = row["GEBOORTEDATUM"]
        births.add(row["GEBOORTEDATUM"])

    _rewrite_operaties(source, birth_date_as_geb_dt)
    result = _run_dsaa(world, catalogue, source)
    iso = {f"{y}-{m}-{d}" for d, m, y in (day.split("-") for day in births)}
    planted = births | iso | identity_values(world.demo)
    leaks = leaks_left(world, planted, result.stdout, result.stderr)
    reports_written = (world.home / "var" / "reports").exists()
    staged = world.settings.staging_dir / "dica-dsaa" / "2026-Q4"
    staged_csvs = list(staged.rglob("*.csv")) if staged.exists() else []
    with world.store() as store:
        versions: list[object] = list(load_ledger(store).versions("dica-dsaa", "2026-Q4"))
        logged = "".join(str(event.payload) for event in store.read_all())
    return BirthDateRun(
        result, frozenset(births), leaks, reports_written, staged_csvs, versions, logged
    )


def test_a_birth_date_column_mapped_to_a_clinical_date_blocks_the_run(
    birth_date_as_date_of_death: BirthDateRun,
) -> None:
    """The export's birth date under a name of its own, mapped to the date of death: exit 2.

    The catalogue guard knows identity columns by name (GEBOORTEDATUM), and the output
    guard's tokens are no dates; decision 0340 refuses such a column before writing.
    (Was in test_run_pipeline.py; it shares its run with the next test, decision 0861.)
    """
    shared = birth_date_as_date_of_death
    result, births = shared.result, shared.births
    assert result.returncode == 2, result.stderr[-2000:]
    assert "delivery blocked" in result.stderr
    assert re.search(r"operatie\.datum_overlijden in (\d+) of \1 record\(s\)", result.stderr)
    assert not [day for day in births if day and day in result.stdout + result.stderr]
    assert shared.staged_csvs == []
    assert shared.versions == []
    assert not [day for day in births if day and day in shared.logged]


def test_a_birth_date_mapped_to_a_clinical_date_leaves_no_birth_date_behind(
    birth_date_as_date_of_death: BirthDateRun,
) -> None:
    """Decision 0340's case, searched right after the blocked run (not after later runs)."""
    result = birth_date_as_date_of_death.result
    assert result.returncode == 2, result.stderr[-2000:]
    assert birth_date_as_date_of_death.reports_written
    assert birth_date_as_date_of_death.leaks == []


@dataclass(frozen=True)
class FreeTextRun:
    """A run whose free-text column names each patient's BSN and phone, and what was searched
    and read right after it."""

    result: subprocess.CompletedProcess[str]
    bsns: frozenset[str]
    leaks: list[tuple[str, str]]  # of the BSNs, phone numbers and the demo's identifiers
    staged_csvs: list[Path]
    versions: list[object]


@pytest.fixture(scope="module")
def bsn_and_phone_in_free_text(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> FreeTextRun:
    """The DSAA export with a free-text column the EHR filled with the BSN and a phone number.

    One CLI run for the two tests that asked for it (decision 0861): the output guard's
    exit and message, and that nothing of it stayed anywhere.
    """
    work = tmp_path_factory.mktemp("free-text")
    catalogue = work / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    _with_free_text(catalogue)
    source = work / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    bsns: set[str] = set()
    planted: set[str] = set()

    def plant(row: dict[str, str]) -> None:  # the EHR's free text names the patient's BSN
        row["OPMERKING"] = f"teruggebeld 06-{row['BSN'][:8]}, bsn {row['BSN']} geverifieerd"
        bsns.add(row["BSN"])
        planted.update({row["BSN"], f"06-{row['BSN'][:8]}"})

    _rewrite_operaties(source, plant)
    result = _run_dsaa(world, catalogue, source)
    leaks = leaks_left(world, planted | identity_values(world.demo), result.stdout, result.stderr)
    staged = world.settings.staging_dir / "dica-dsaa" / "2026-Q4"
    staged_csvs = list(staged.rglob("*.csv")) if staged.exists() else []
    with world.store() as store:
        versions: list[object] = list(load_ledger(store).versions("dica-dsaa", "2026-Q4"))
    return FreeTextRun(result, frozenset(bsns), leaks, staged_csvs, versions)


def test_a_bsn_in_a_clinical_free_text_column_blocks_the_run(
    bsn_and_phone_in_free_text: FreeTextRun,
) -> None:
    """The output guard finds the BSN in a clinical free-text column: exit 2, nothing staged.

    (Was in test_run_pipeline.py; it shares its run with the next test, decision 0861.)
    """
    shared = bsn_and_phone_in_free_text
    result = shared.result
    assert result.returncode == 2, result.stderr[-2000:]
    assert "delivery blocked" in result.stderr
    assert "file operatie.csv, column opmerking: a BSN" in result.stderr
    assert not [bsn for bsn in shared.bsns if bsn in result.stdout + result.stderr]
    assert shared.staged_csvs == []
    assert shared.versions == []


def test_an_output_guard_hit_leaves_no_identifier_behind(
    bsn_and_phone_in_free_text: FreeTextRun,
) -> None:
    """The guard finds the BSN, name and phone in free text: nothing of them stays anywhere."""
    result = bsn_and_phone_in_free_text.result
    assert result.returncode == 2, result.stderr[-2000:]
    assert "delivery blocked" in result.stderr
    assert bsn_and_phone_in_free_text.leaks == []


def _admin(world: World) -> dict[str, str]:
    key = (world.home / "ttp" / "clients" / "ttp-admin.key").read_text().strip()
    return {"Authorization": f"Bearer {key}"}


def _arm_ttp(world: World, count: int, mode: str = "error", hang: float = 0) -> None:
    response = requests.post(
        world.ttp.url + "/admin/faults",
        json={"count": count, "mode": mode, "hang_seconds": hang},
        headers=_admin(world),
        timeout=5,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("mode", ["error", "hang"])
def test_a_ttp_that_fails_leaves_no_identifier_behind(world: World, mode: str) -> None:
    """The TTP answers 500, or not in time, past every retry: the run stops, exit non-zero."""
    _arm_ttp(world, 50, mode, hang=1)
    try:
        result = _cli(
            world,
            CATALOGUE,
            "run",
            "--registration",
            "dica-dsaa",
            "--input",
            str(world.demo / "csv-utf8"),
            "--period",
            "2026-Q1",
        )
    finally:
        _arm_ttp(world, 0)
    assert result.returncode != 0, result.stdout[-2000:]
    assert "TTP" in result.stderr
    planted = identity_values(world.demo)
    assert leaks_left(world, planted, result.stdout, result.stderr) == []


def _run_cli(
    world: World, period: str, *extra: str, **env: str
) -> subprocess.CompletedProcess[str]:
    arguments = ["--registration", "dica-dsaa", "--input", str(world.demo / "csv-utf8")]
    return run_cli(
        ["run", *arguments, "--period", period, *extra],
        env={
            **world.env,
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            **env,
        },
        timeout=300,
    )


def test_a_run_turned_away_by_the_lock_leaves_no_identifier_behind(world: World) -> None:
    scope = LockScope(world.settings.provider_id, "dica-dsaa", "2026-Q2")
    with world.store() as store:
        acquire(store, scope, "another-run")
    try:
        result = _run_cli(world, "2026-Q2", AANLEVERING_RUN_LOCK_WAIT="0")
    finally:
        with world.store() as store:
            release(store, scope, "another-run", "failed")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "another-run" in result.stderr
    assert leaks_left(world, identity_values(world.demo), result.stdout, result.stderr) == []


def test_a_delivery_the_registry_holder_keeps_refusing_leaves_no_identifier_behind(
    world: World,
) -> None:
    world.holder.faults(fail_commits=100)
    try:
        result = _run_cli(world, "2026-Q3")
    finally:
        world.holder.faults(fail_commits=0)
    assert result.returncode != 0, result.stdout[-2000:]
    assert leaks_left(world, identity_values(world.demo), result.stdout, result.stderr) == []


def outside_private_run_folders(world: World, leaks: list[tuple[str, str]]) -> list[str]:
    """Where a stopped run kept identifiers other than a 0600 file in its own run folder.

    Identifiers a stopped run keeps for its rerun belong there and nowhere else; read
    right after the run stopped (its rerun removes the folder).
    """
    staging = world.settings.staging_dir
    wrong = []
    for where, _ in leaks:
        path = Path(where)
        if not path.is_relative_to(staging):
            wrong.append(f"{where}: outside the staging folder")
        elif not any(part.startswith("run-") for part in path.relative_to(staging).parts):
            wrong.append(f"{where}: outside a run folder")
        elif stat.S_IMODE(path.stat().st_mode) & 0o077:
            wrong.append(f"{where}: readable by others")
    return wrong


def _only_in_private_run_folders(world: World, leaks: list[tuple[str, str]]) -> None:
    """Identifiers a stopped run keeps for its rerun: in its run folder only, 0600 files."""
    assert outside_private_run_folders(world, leaks) == []


_SCHEDULED_RUN = """
import sys
from datetime import date
from pathlib import Path
from aanlevering.errors import TTPError
from aanlevering.pipeline.stages import STAGE_NAMES
from aanlevering.runs.steps import release_failed_run, run_stage, start_run

source, period, run_id = sys.argv[1:4]
summary = start_run(
    "dica-dsaa", period, today=date(2026, 11, 22), input_path=Path(source), run_id=run_id
)
try:
    for name in STAGE_NAMES[1:]:
        run_stage(name, summary["run_dir"], registration_id="dica-dsaa", run_id=run_id)
except TTPError as error:
    print(f"failed: {error}", file=sys.stderr)
    release_failed_run("dica-dsaa", period, run_id)  # no retries left
    sys.exit(3)
"""


def test_a_scheduled_run_that_fails_for_good_keeps_identifiers_privately_until_the_purge(
    world: World,
) -> None:
    """The Airflow task path (a run folder per run) with the TTP failing past every retry.

    Its run folder stays for inspection until the retention (decision 0150): the
    identifiers in it are 0600 files there and nowhere else, and the purge takes them.
    """
    env = {**world.env, "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    _arm_ttp(world, 50)
    try:
        failed = run_cli(
            [str(world.demo / "csv-utf8"), "2026-Q1", "leaks"],
            code=_SCHEDULED_RUN,
            env=env,
            timeout=300,
        )
    finally:
        _arm_ttp(world, 0)
    assert failed.returncode == 3, failed.stderr[-2000:]
    planted = identity_values(world.demo)
    kept = leaks_left(world, planted, failed.stdout, failed.stderr)
    assert kept  # the run folder holds the extract for a retry or an inspection
    _only_in_private_run_folders(world, kept)
    purge = run_cli(["staging", "purge", "--older-than-days", "0"], env=env, timeout=120)
    assert purge.returncode == 0, purge.stderr[-2000:]
    assert leaks_left(world, planted, purge.stdout, purge.stderr) == []


@pytest.mark.parametrize("export", ["csv-utf8", "fhir-bulk/dica-dsaa"])
def test_an_export_with_bad_rows_is_blocked_and_leaves_no_identifier_behind(
    world: World, export: str
) -> None:
    """The demo's bad rows (malformed BSNs, dates, postcodes, codes): blocked, nothing kept."""
    arguments = ["--registration", "dica-dsaa", "--input", str(world.bad_demo / export)]
    result = run_cli(
        ["run", *arguments, "--period", "2026-Q2"],
        env={**world.env, "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        timeout=300,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    planted = identity_values(world.bad_demo) | fhir_identity_values(world.bad_demo)
    assert leaks_left(world, planted, result.stdout, result.stderr) == []


def _shift_into(column: str, identifier: str) -> Callable[[dict[str, str]], None]:
    def change(row: dict[str, str]) -> None:  # an export whose columns slid by one
        row[column] = row[identifier]

    return change


#: Shifts whose identifiers fail a check of the validate stage, and the variable of that check.
#: One run of an export shifted in all four serves the four cases (decision 0832): each
#: column's check fails in it as in a run of its own, and its report is the one searched.
VALIDATED_SHIFTS = {
    ("KREATININE", "BSN"): "creatinine_preop",  # an integer column
    ("ASA", "PATIENTNUMMER"): "asa_klasse",  # a code column
    ("TECHNIEK", "POSTCODE"): "techniek",  # a code column with text
    ("OVERLEDEN_30D", "GEBOORTEDATUM"): "overleden_30d",  # a yes/no column
}


@dataclass(frozen=True)
class SharedRun:
    """One CLI run several cases assert on, and what was searched right after it."""

    result: subprocess.CompletedProcess[str]
    leaks: list[tuple[str, str]]
    failed_variables: frozenset[str]


def _failed_variables(stderr: str) -> frozenset[str]:
    """The variables of the failed checks in the validation report the run names."""
    found = re.search(r"report: (\S+)validation-report\.html", stderr)
    assert found, stderr[-2000:]
    report = json.loads(Path(found.group(1), "validation-report.json").read_text("utf-8"))
    return frozenset(
        str(check["variable"])
        for dataset in report["datasets"]
        for check in dataset["checks"]
        if not check["passed"]
    )


@pytest.fixture(scope="module")
def shifted_in_every_validated_column(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> SharedRun:
    """The export shifted in all of VALIDATED_SHIFTS, run once and searched at once."""
    source = tmp_path_factory.mktemp("shifted") / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    for column, identifier in VALIDATED_SHIFTS:
        _rewrite_operaties(source, _shift_into(column, identifier))
    result = _run_dsaa(world, CATALOGUE, source)
    leaks = leaks_left(world, identity_values(world.demo), result.stdout, result.stderr)
    failed = _failed_variables(result.stderr) if result.returncode == 1 else frozenset()
    return SharedRun(result, leaks, failed)


@pytest.mark.parametrize(
    ("column", "identifier"),
    [
        ("KREATININE", "BSN"),  # an integer column
        ("OPERATIEDATUM", "GESLACHTSNAAM"),  # a date column: stops before validate, own run
        ("ASA", "PATIENTNUMMER"),  # a code column
        ("TECHNIEK", "POSTCODE"),  # a code column with text
        ("OVERLEDEN_30D", "GEBOORTEDATUM"),  # a yes/no column
    ],
)
def test_identifiers_in_a_clinical_column_of_the_wrong_type_are_never_quoted(
    world: World, tmp_path: Path, request: pytest.FixtureRequest, column: str, identifier: str
) -> None:
    """Shifted columns: identifiers fail a clinical column's type or codes; none is written."""
    if (column, identifier) in VALIDATED_SHIFTS:
        shared: SharedRun = request.getfixturevalue("shifted_in_every_validated_column")
        result = shared.result
        assert result.returncode in (1, 2), result.stderr[-2000:]
        variable = VALIDATED_SHIFTS[(column, identifier)]
        assert variable in shared.failed_variables, (variable, sorted(shared.failed_variables))
        assert shared.leaks == [], f"{identifier} shifted into {column}"
        return
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    _rewrite_operaties(source, _shift_into(column, identifier))
    result = _run_dsaa(world, CATALOGUE, source)
    assert result.returncode in (1, 2), result.stderr[-2000:]
    planted = identity_values(world.demo)
    assert leaks_left(world, planted, result.stdout, result.stderr) == []


def _damage_csv(source: Path, how: str) -> set[str]:
    """Damage the second data row of the operations file ``how``; the identifiers it holds."""
    file = next(source.glob("dsaa_operaties*.csv"))
    lines = file.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    fields = lines[2].rstrip("\n").split(";")
    planted = {fields[0], fields[1], fields[3]}  # patient number, BSN, family name
    if how == "extra-field":
        lines[2] = lines[2].rstrip("\n") + ";Vliet-Kwaadsteniet\n"
        planted.add("Vliet-Kwaadsteniet")
    elif how == "open-quote":
        lines[2] = lines[2].replace(f";{fields[3]};", f';"{fields[3]};', 1)
    file.write_text("".join(lines), encoding="utf-8")
    return planted


@pytest.mark.parametrize("how", ["extra-field", "open-quote"])
def test_a_damaged_csv_row_is_reported_without_its_identifiers(
    world: World, tmp_path: Path, how: str
) -> None:
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    planted = _damage_csv(source, how)
    result = _run_dsaa(world, CATALOGUE, source)
    assert result.returncode != 0, result.stdout[-2000:]
    assert leaks_left(world, planted, result.stdout, result.stderr) == []


def test_a_damaged_fhir_line_is_reported_without_its_identifiers(
    world: World, tmp_path: Path
) -> None:
    source = tmp_path / "export"
    shutil.copytree(world.demo / "fhir-bulk" / "dica-dsaa", source)
    patients = source / "Patient.ndjson"
    lines = patients.read_text(encoding="utf-8").splitlines(keepends=True)
    patient = json.loads(lines[1])
    planted = {i["value"] for i in patient.get("identifier", ()) if i.get("value")}
    planted |= {name["family"] for name in patient.get("name", ()) if name.get("family")}
    lines[1] = lines[1].rstrip("\n")[:-1] + "\n"  # the closing brace lost
    patients.write_text("".join(lines), encoding="utf-8")
    result = _run_dsaa(world, CATALOGUE, source)
    assert result.returncode != 0, result.stdout[-2000:]
    assert leaks_left(world, planted, result.stdout, result.stderr) == []


TAMPERING = Path(__file__).resolve().parents[1] / "integration" / "ttp" / "tampering_ttp.py"


@pytest.fixture(scope="module")
def tampering(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, Path]]:
    """The tampering proxy of tests/integration/ttp in front of the world's real TTP."""
    plan = tmp_path_factory.mktemp("tampering") / "plan.json"
    plan.write_text("{}")
    with running_server(
        [
            *(PYTHON, str(TAMPERING), "--port", "{port}", "--upstream", world.ttp.url),
            *("--plan-file", str(plan)),
        ],
        log_path=plan.with_name("tampering.log"),
    ) as server:
        yield server, plan


def _a_bsn(world: World) -> str:
    file = next((world.demo / "csv-utf8").glob("dsaa_operaties*.csv"))
    with file.open(encoding="utf-8-sig", newline="") as handle:
        return next(csv.DictReader(handle, delimiter=";"))["BSN"]


@pytest.mark.parametrize(
    "plan",
    [
        {"mode": "same", "type": "NGGV", "batch": 0},
        {"mode": "echo", "type": "NGGV", "batch": 0},
        {"mode": "value", "type": "NGGV", "batch": 0, "row": 1, "value": "BSN"},
        {"mode": "field", "field": "registration", "value": "BSN"},
    ],
    ids=["same", "echo", "a-bsn-as-pseudonym", "a-bsn-as-registration"],
)
def test_a_ttp_answering_wrong_leaves_no_identifier_behind(
    world: World, tampering: tuple[ServerProcess, Path], plan: dict[str, object]
) -> None:
    """A TTP whose answer is wrong (decision 0440), even one carrying a BSN: nothing kept."""
    server, plan_file = tampering
    bsn = _a_bsn(world)
    plan_file.write_text(json.dumps({k: bsn if v == "BSN" else v for k, v in plan.items()}))
    try:
        result = _run_cli(world, "2026-Q1", AANLEVERING_TTP_URL=server.url)
    finally:
        plan_file.write_text("{}")
    assert result.returncode == 2, result.stderr[-2000:]
    planted = identity_values(world.demo) | {bsn}
    assert leaks_left(world, planted, result.stdout, result.stderr) == []
