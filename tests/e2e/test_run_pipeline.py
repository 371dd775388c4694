"""A hospital delivers its 2026 data end to end, without Airflow.

The scenarios of the delivery issue: delivered and receipted once; a rerun
changes nothing; a correction is version 2; a negative decision between
validate and deliver stops the delivery; opt-outs; exit codes of the CLI; and
no input identifier anywhere in what was written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import NoObligation, ValidationBlocked
from aanlevering.obligation.decisions import RegisterDecision, to_event
from aanlevering.obligation.events import stream_name
from aanlevering.periods import Period
from aanlevering.pipeline.run import Ports, RunRequest, run_delivery
from conftest import World, fhir_identity_values, identity_values
from support.forked_cli import run_cli
from support.leaks import FileLeakSearch

TODAY = date(2026, 11, 22)


def _run(world: World, registration: str, period: str, source: Path, **options: object):  # type: ignore[no-untyped-def]
    with world.store() as store:
        return run_delivery(
            world.config(registration),
            world.settings,
            RunRequest(registration, source, Period.parse(period), today=TODAY, **options),  # type: ignore[arg-type]
            world.ports(store),
        )


def test_https_delivery_is_receipted_with_definitive_pseudonyms_and_a_rerun_changes_nothing(
    world: World,
) -> None:
    first = _run(world, "dica-dsaa", "2026-Q1", world.demo / "csv-utf8")
    assert first.status == "delivered"
    assert first.receipt is not None and not first.receipt.duplicate
    assert first.record_counts["operatie"] > 0

    again = _run(world, "dica-dsaa", "2026-Q1", world.demo / "csv-cp1252")
    assert again.status == "already-delivered"
    assert again.idempotency_key == first.idempotency_key
    keys = [e["idempotency_key"] for e in world.holder.ledger()]
    assert keys.count("demo-hospital.dica-dsaa.2026-Q1.v1") == 1

    held = world.holder.home / "storage" / "deliveries" / "demo-hospital"
    accepted = held / "demo-hospital.dica-dsaa.2026-Q1.v1" / "accepted"
    operaties = (accepted / "operatie.csv").read_text(encoding="utf-8")
    assert "NGGV:v1:" in operaties and "T1:" not in operaties  # exchanged at the TTP
    # record keys are keyed hashes, never the EHR's own record ids (OK_ID)
    delivered_keys = {
        row["operatie_id"] for row in csv.DictReader(io.StringIO(operaties), delimiter=";")
    }
    assert delivered_keys and all(re.fullmatch(r"[0-9a-f]{32}", key) for key in delivered_keys)
    source_keys = {
        row["OK_ID"]
        for file in (world.demo / "csv-utf8").glob("dsaa_operaties*.csv")
        for row in csv.DictReader(io.StringIO(file.read_text(encoding="utf-8-sig")), delimiter=";")
    }
    assert source_keys and not any(key in operaties for key in source_keys)
    manifest = json.loads(
        (held / "demo-hospital.dica-dsaa.2026-Q1.v1" / "manifest.json").read_text()
    )
    assert manifest["record_counts"] == dict(first.record_counts)


def test_correction_goes_out_as_version_2_and_the_ledger_shows_it(
    world: World, tmp_path: Path
) -> None:
    _run(world, "dica-dsaa", "2026-Q2", world.demo / "csv-utf8")
    corrected = tmp_path / "corrected"
    corrected.mkdir()
    for file in (world.demo / "csv-utf8").glob("dsaa_*.csv"):
        text = file.read_text(encoding="utf-8-sig")
        lines = text.splitlines()
        header = lines[0].split(";")
        if "DIAMETER_MM" not in header:
            (corrected / file.name).write_text(text, encoding="utf-8-sig")
            continue
        column = header.index("DIAMETER_MM")
        for index, line in enumerate(lines[1:], start=1):
            cells = line.split(";")
            if "-04-2026" in line:
                cells[column] = "77"
                lines[index] = ";".join(cells)
        (corrected / file.name).write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    second = _run(world, "dica-dsaa", "2026-Q2", corrected)
    assert second.status == "delivered"
    assert second.version == 2
    with world.store() as store:
        versions = load_ledger(store).versions("dica-dsaa", "2026-Q2")
    assert [(v.version, v.status, v.supersedes) for v in versions] == [
        (1, "receipted", None),
        (2, "receipted", "demo-hospital.dica-dsaa.2026-Q2.v1"),
    ]


def test_negative_decision_between_validate_and_deliver_stops_the_delivery(world: World) -> None:
    config = world.config("ldtr")
    with world.store() as store:
        ports = world.ports(store)

        def decision_arrives(registration, outbox):  # type: ignore[no-untyped-def]
            rejected = RegisterDecision(
                registration="ldtr", kind="rejected", decided_on=TODAY, effective_from=TODAY
            )
            store.append(stream_name("ldtr"), [to_event(rejected)], None)
            return ports.channel_for(registration, world.home / "outbox-negative")

        with pytest.raises(NoObligation, match="negative register decision"):
            run_delivery(
                config,
                world.settings,
                RunRequest("ldtr", world.demo / "csv-utf8", Period.parse("2026-02"), today=TODAY),
                Ports(store=store, ttp=ports.ttp, channel_for=decision_arrives),
            )
        assert not [e for e in world.holder.ledger() if e["registration"] == "ldtr"]
        # It arrived while the receiver was asked (apply_optouts): the run stopped before
        # the TTP was offered anyone, so nothing was staged either (decision 0640).
        assert load_ledger(store).current("ldtr", "2026-02") is None
        # A later run is refused before it extracts anything.
        with pytest.raises(NoObligation):
            run_delivery(
                config,
                world.settings,
                RunRequest("ldtr", world.demo / "csv-utf8", Period.parse("2026-03"), today=TODAY),
                ports,
            )


def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as its own (forked, 0955) process; the umask test below starts a fresh one."""
    return run_cli(
        args,
        # PYTHONPATH: this checkout's code, not whatever the venv's editable install names.
        env={**world.env, "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        timeout=300,
    )


def test_cli_exit_codes(world: World, tmp_path: Path) -> None:
    blocked = _cli(
        world,
        "run",
        "--registration",
        "dica-dsaa",
        "--input",
        str(world.bad_demo / "csv-utf8"),
        "--period",
        "2026-Q3",
        "--outbox",
        str(tmp_path),
    )
    assert blocked.returncode == 1, blocked.stderr[-2000:]
    assert "validation failed" in blocked.stderr
    waiting = _cli(
        world,
        "run",
        "--registration",
        "nkr-borst",
        "--input",
        str(world.demo / "csv-utf8"),
        "--period",
        "2026",
        "--outbox",
        str(tmp_path),
        "--allow-open-period",
    )
    assert waiting.returncode == 3, waiting.stderr[-2000:]
    assert "wait for inclusion" in waiting.stderr
    missing = _cli(
        world,
        "run",
        "--registration",
        "dica-dsaa",
        "--input",
        str(tmp_path / "nothing-here"),
        "--period",
        "2026-Q3",
    )
    assert missing.returncode == 2
    outbox = _cli(
        world,
        "run",
        "--registration",
        "dica-dsaa",
        "--input",
        str(world.demo / "fhir-bundles" / "dica-dsaa"),
        "--period",
        "2026-Q3",
        "--outbox",
        str(tmp_path),
    )
    assert outbox.returncode == 0, outbox.stderr[-2000:]
    _says_handed_over_never_delivered(outbox.stdout, "handed-over")
    landed = tmp_path / world.settings.provider_id / "dica-dsaa" / "2026-Q3" / "v1"
    assert {"manifest.json", "operatie.csv", "complicatie.csv", "receipt.json"} <= {
        p.name for p in landed.iterdir()
    }
    assert (landed / "validation-report.json").is_file()
    assert not list(landed.rglob("data-docs"))  # data docs stay at the hospital
    manifest = json.loads((landed / "manifest.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in manifest["reports"]] == [
        "validation-report.html",
        "validation-report.json",
    ]
    # The same content again: nothing placed again, and still not called delivered (0820).
    again = _cli(world, *outbox.args[3:])
    assert again.returncode == 0, again.stderr[-2000:]
    _says_handed_over_never_delivered(again.stdout, "already-handed-over")
    assert "was placed in" in again.stderr and "not delivered" in again.stderr, again.stderr


def _says_handed_over_never_delivered(stdout: str, status: str) -> None:
    """An outbox run's output names the hand-over and the upload to confirm, never "delivered".

    Why: the outbox's own receipt says the files lie in a folder of the hospital;
    the run printed "delivered: ..." and "delivered N" of them (decisions 0794, 0820).
    """
    assert stdout.startswith(f"{status}: dica-dsaa 2026-Q3 v1 "), stdout
    assert "confirm-upload --registration dica-dsaa --period 2026-Q3 --version 1" in stdout
    assert re.search(r"\bdelivered[: ]+\d", stdout) is None, stdout
    assert not re.search(r"^delivered", stdout, re.M), stdout


def _with_free_text(catalogue: Path) -> None:
    """The DSAA dictionary gets a free-text ``opmerking``, mapped from CSV and FHIR."""
    dictionary = catalogue / "dictionaries" / "dsaa" / "2026.1.yaml"
    dictionary.write_text(
        dictionary.read_text(encoding="utf-8").replace(
            "      - {name: datum_operatie,",
            "      - {name: opmerking, type: string, max_length: 500}\n"
            "      - {name: datum_operatie,",
            1,
        ),
        encoding="utf-8",
    )
    registration = catalogue / "registrations" / "dica-dsaa.yaml"
    registration.write_text(
        registration.read_text(encoding="utf-8")
        .replace(
            "          ASA: asa_klasse\n",
            "          ASA: asa_klasse\n          OPMERKING: opmerking\n",
        )
        .replace(
            "          datum_operatie: performedDateTime\n",
            "          datum_operatie: performedDateTime\n          opmerking: note.text\n",
        ),
        encoding="utf-8",
    )


def _rewrite_operaties(source: Path, change: Callable[[dict[str, str]], None]) -> None:
    """Apply ``change`` to every row of the export's DSAA operation files, in place."""
    for file in source.glob("dsaa_operaties*.csv"):
        text = file.read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
        for row in rows:
            change(row)
        with file.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
            writer.writeheader()
            writer.writerows(rows)


def _run_cli_on(world: World, catalogue: Path, source: Path) -> subprocess.CompletedProcess[str]:
    """`aanlevering run` of dica-dsaa 2026-Q4 from ``source`` with ``catalogue``, as users do."""
    arguments = ["--registration", "dica-dsaa", "--input", str(source), "--period", "2026-Q4"]
    return world.cli(catalogue, "run", *arguments, "--allow-open-period")


def test_nothing_written_is_readable_by_group_or_others_even_under_umask_022(
    world: World, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    arguments = ["--registration", "dica-dsaa", "--input", str(world.demo / "csv-utf8")]
    arguments += ["--period", "2026-Q4", "--allow-open-period", "--outbox", str(outbox)]
    result = subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", "run", *arguments],
        capture_output=True,
        text=True,
        env={**world.env, "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        check=False,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),  # the umask a careless shell gives
    )
    assert result.returncode == 0, result.stderr[-2000:]
    written = [p for root in (world.home / "var", outbox) for p in root.rglob("*")]
    assert any(p.name == "validation-report.html" for p in written)
    assert any(p.suffix == ".csv" for p in written if outbox in p.parents)
    open_to_others = sorted(
        f"{p.relative_to(world.home if world.home in p.parents else tmp_path)} "
        f"{stat.S_IMODE(p.lstat().st_mode):o}"
        for p in written
        if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077
    )
    assert open_to_others == []


def test_local_mode_upload_is_pseudonymised_and_forwarded_by_the_ttp(world: World) -> None:
    with world.store() as store:
        included = RegisterDecision(
            registration="nkr-borst",
            kind="included",
            decided_on=date(2026, 3, 1),
            effective_from=date(2026, 3, 1),
            term_years=5,
        )
        store.append(stream_name("nkr-borst"), [to_event(included)], None)
    result = _run(
        world, "nkr-borst", "2026", world.demo / "fhir-bulk" / "nkr-borst", allow_open_period=True
    )
    assert result.status == "delivered"
    assert result.receipt is not None and result.receipt.channel == "ttp-local"
    held = world.holder.home / "storage" / "deliveries" / "demo-hospital"
    folder = held / "demo-hospital.nkr-borst.2026.v1" / "accepted"
    bundles = list(folder.glob("*.json"))
    assert bundles
    text = "".join(p.read_text(encoding="utf-8") for p in bundles)
    # replaced by the TTP, under the registration's NamingSystem as in web mode
    assert "/NamingSystem/pseudonym/nkr-borst/NGGV" in text
    assert "urn:aanlevering:pseudonym" not in text
    assert "pseudonym-input" not in text


def test_us_bulk_export_patients_get_the_computable_types_and_the_rest_is_reported(
    world: World,
) -> None:
    """Synthea-style Patients (SSN, US ZIP): NGG and MRN are made, C is reported per patient."""
    from aanlevering.catalogue import load_catalogue as load
    from aanlevering.extract.api import extract
    from aanlevering.pseudonym.keys import load_keys
    from aanlevering.pseudonym.patient_ref import PatientRefHasher
    from aanlevering.pseudonym.service import pseudonymise

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "extract" / "synthea"
    synthea = load(fixtures / "catalogue").get("synthea-test")
    identity = (
        extract(synthea, fixtures / "export", Period.parse("2026")).datasets["ingreep"].identity
    )
    config = world.config("ldtr")  # NGG, C and MRN
    source_key, mrn_key = load_keys(world.settings, "ldtr")
    with world.store() as store:
        hasher = PatientRefHasher.from_settings(world.settings, store)
        outcome = pseudonymise(
            config,
            "2026",
            identity,
            client=world.ports(store).ttp,
            source_key=source_key,
            mrn_key=mrn_key,
            patient_ref=lambda mrn: hasher.ref(mrn, scheme="mrn"),
            store=store,
            run_id="synthea-test",
        )
    produced = {str(t) for p in outcome.by_patient.values() for t in p.types}
    assert produced == {"NGG", "MRN"}
    assert len(outcome.by_patient) == identity.num_rows
    assert {f.type for f in outcome.event.failures} == {"C"}
    assert {f.field for f in outcome.event.failures} == {"postcode"}
    assert all(f.patient_ref.startswith("pr_") for f in outcome.event.failures)
    assert len({f.patient_ref for f in outcome.event.failures}) == identity.num_rows
    text = repr(outcome.event)
    for value in (
        identity.column("patient_id").to_pylist() + identity.column("own_name").to_pylist()
    ):
        assert value not in text


def test_retraction_withdraws_a_period_and_a_later_run_delivers_it_again(world: World) -> None:
    from aanlevering.retract import retract_period

    first = _run(world, "dica-dsaa", "2026-Q3", world.demo / "csv-utf8")
    with world.store() as store:
        receipt = retract_period(
            world.config("dica-dsaa"),
            world.settings,
            Period.parse("2026-Q3"),
            world.ports(store),
            reason="delivered before the hospital's data protection review",
        )
    assert receipt.idempotency_key == f"demo-hospital.dica-dsaa.2026-Q3.v{first.version + 1}"
    entries = [e for e in world.holder.ledger() if e["period"] == "2026-Q3"]
    assert entries[-1]["kind"] == "retraction"
    assert entries[-1]["supersedes"] == first.idempotency_key
    again = _run(world, "dica-dsaa", "2026-Q3", world.demo / "csv-utf8")
    assert again.status == "delivered"
    assert again.version == first.version + 2


def test_no_input_identifier_in_anything_written(world: World) -> None:
    """Runs last in the module: every earlier run (CSV and FHIR, all channels) is searched."""
    cli = _cli(
        world,
        "-v",
        "run",
        "--registration",
        "dica-dsaa",
        "--input",
        str(world.demo / "fhir-bulk" / "dica-dsaa"),
        "--period",
        "2026-Q2",
    )
    assert cli.returncode == 0, cli.stderr[-2000:]
    identifiers = identity_values(world.demo)
    fhir_identifiers = fhir_identity_values(world.demo)
    assert len(identifiers) > 500 and len(fhir_identifiers) > 500
    assert any(" " in value for value in fhir_identifiers)  # street lines are in there
    identifiers |= fhir_identifiers
    written = [
        p
        for root in (world.home / "var", world.holder.home / "storage")
        for p in root.rglob("*")
        if p.is_file() and "secrets" not in p.parts
    ]
    written += [world.holder.home / "registry-holder.log", world.home / "ttp.log"]
    assert any(p.name == "events.sqlite3" for p in written)
    search = FileLeakSearch()  # the same data docs images of every run searched once (0860)
    finder = search.finder(identifiers)
    leaks = [("run stderr", value) for value in finder.found_in(cli.stdout + cli.stderr)]
    for path in written:
        leaks += [(path.name, value) for value in search.found_in_file(identifiers, path)]
    assert leaks == []


# --- accounting and thresholds (issue 14) ---------------------------------------------------


def _rewritten_export(world: World, target: Path, change: object, marker: str = "") -> Path:
    """The demo's dsaa CSV export with ``change(header, row)`` applied to every operation row
    (a row for which it returns None is left out). ``marker`` (a creatinine value) makes
    the clinical content new, so earlier deliveries of the period do not make it a no-op."""
    source = world.demo / "csv-utf8"
    target.mkdir(parents=True)
    for path in source.glob("dsaa_*.csv"):
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        header, body = rows[0], rows[1:]
        if "OPERATIEDATUM" in header or "GESLACHTSNAAM" in header:
            body = [r for r in (change(header, row) for row in body) if r is not None]  # type: ignore[operator]
        if marker and "KREATININE" in header:
            for row in body:
                row[header.index("KREATININE")] = marker
        out = io.StringIO()
        csv.writer(out, delimiter=";", lineterminator="\n").writerows([header, *body])
        (target / path.name).write_text(out.getvalue(), encoding="utf-8")
    return target


def test_an_input_with_nothing_in_the_period_is_exit_3_nothing_to_deliver(
    world: World, tmp_path: Path
) -> None:
    from aanlevering.errors import NothingToDeliver

    def only_q1(header: list[str], row: list[str]) -> list[str] | None:
        if "OPERATIEDATUM" not in header:
            return row
        month = int(row[header.index("OPERATIEDATUM")].split("-")[1])
        return row if month <= 3 else None

    export = _rewritten_export(world, tmp_path / "q1-only", only_q1)
    before = _versions(world, "2026-Q3")
    with pytest.raises(NothingToDeliver, match="nothing to deliver for 2026-Q3") as nothing:
        _run(world, "dica-dsaa", "2026-Q3", export)
    assert nothing.value.exit_code == 3
    assert _versions(world, "2026-Q3") == before  # nothing staged, nothing sent


def _versions(world: World, period: str) -> list[tuple[str, str]]:
    with world.store() as store:
        return [
            (e.idempotency_key, e.status) for e in load_ledger(store).versions("dica-dsaa", period)
        ]


def _without_birth_names(header: list[str], row: list[str]) -> list[str]:
    if "GESLACHTSNAAM" in header:
        row[header.index("GESLACHTSNAAM")] = ""
        row[header.index("VOORVOEGSELS")] = ""
    return row


def test_a_type_nobody_gets_blocks_the_run_naming_type_count_and_reason(
    world: World, tmp_path: Path
) -> None:
    export = _rewritten_export(world, tmp_path / "no-names", _without_birth_names, "91")
    before = _versions(world, "2026-Q4")

    with pytest.raises(ValidationBlocked) as blocked:
        _run(world, "dica-dsaa", "2026-Q4", export, allow_open_period=True)

    message = str(blocked.value)
    assert blocked.value.exit_code == 1
    assert re.search(r"NGGV: (\d+) of \1 patients \(100\.0%\) without it", message), message
    assert "mostly own_name: missing" in message and "aanlevering failures" in message
    assert _versions(world, "2026-Q4") == before


def test_an_empty_delivery_from_a_non_empty_extract_is_always_blocked(
    world: World, tmp_path: Path
) -> None:
    from dataclasses import replace

    from aanlevering.pseudonym_types import PseudonymType

    export = _rewritten_export(world, tmp_path / "no-names-2", _without_birth_names, "92")
    base = world.config("dica-dsaa")
    only_nggv = replace(
        base,
        pseudonymisation=replace(base.pseudonymisation, types=(PseudonymType.NGGV,)),
        validation=replace(base.validation, max_unpseudonymised_share=1.0),
    )
    with world.store() as store, pytest.raises(ValidationBlocked, match="no record left"):
        run_delivery(
            only_nggv,
            world.settings,
            RunRequest(
                "dica-dsaa", export, Period.parse("2026-Q4"), today=TODAY, allow_open_period=True
            ),
            world.ports(store),
        )


def test_a_delivered_run_accounts_for_every_record(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    first: list[bool] = []

    def one_without_name(header: list[str], row: list[str]) -> list[str]:
        in_q4 = "OPERATIEDATUM" in header and int(row[header.index("OPERATIEDATUM")][3:5]) >= 10
        if in_q4 and not first:
            first.append(True)
            return _without_birth_names(header, row)
        return row

    export = _rewritten_export(world, tmp_path / "one-without", one_without_name, "93")
    base = world.config("dica-dsaa")
    lenient = replace(base, validation=replace(base.validation, max_unpseudonymised_share=0.5))
    with world.store() as store:
        result = run_delivery(
            lenient,
            world.settings,
            RunRequest(
                "dica-dsaa", export, Period.parse("2026-Q4"), today=TODAY, allow_open_period=True
            ),
            world.ports(store),
        )
        entry = load_ledger(store).versions("dica-dsaa", "2026-Q4")[-1]

    accounting = result.accounting
    assert result.status == "delivered"
    assert accounting["delivered"] == sum(result.record_counts.values()) > 0
    assert (
        accounting["records_read"]
        == accounting["excluded_optout"] + accounting["dropped"] + accounting["delivered"]
    )
    failed = accounting["failed"]
    assert failed["NGGV"]["patients"] == 1
    assert failed["NGGV"]["reasons"] == {"own_name: missing": 1}
    assert entry.accounting == accounting  # the ledger holds the same numbers
    from aanlevering.cli.main import main

    assert main(["status", "--registration", "dica-dsaa"]) == 0
    assert (
        f"read {accounting['records_read']}, excluded by opt-out {accounting['excluded_optout']}"
        in capsys.readouterr().out
    )
    hospital = json.loads(Path(result.validation_reports["hospital"]).read_text("utf-8"))
    assert hospital["accounting"] == accounting
    listed = hospital["pseudonymisation_failures"]
    assert len(listed) == failed.get("NGGV", {}).get("patients", 0)
    for patient in listed:  # rows and reasons, never a value or a patient number
        assert patient["types"] == {"NGGV": "own_name: missing"}
        assert all(re.fullmatch(r"dsaa_operaties_2026\.csv:\d+", row) for row in patient["rows"])


def test_a_bulk_export_without_the_focus_resource_is_nothing_to_deliver(
    world: World, tmp_path: Path
) -> None:
    from aanlevering.errors import NothingToDeliver

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "extract" / "fhir-nl"
    export = tmp_path / "bulk"
    shutil.copytree(fixture, export)
    (export / "Procedure.ndjson").unlink()  # dsaa's records are Procedures

    before = _versions(world, "2026-Q3")
    with pytest.raises(NothingToDeliver, match="nothing to deliver for 2026-Q3"):
        _run(world, "dica-dsaa", "2026-Q3", export)
    assert _versions(world, "2026-Q3") == before


def test_the_delivered_validation_report_carries_the_runs_counts_only(
    world: World, tmp_path: Path
) -> None:
    from dataclasses import replace

    export = _rewritten_export(world, tmp_path / "outbox-run", lambda header, row: row, "94")
    base = world.config("dica-dsaa")
    lenient = replace(base, validation=replace(base.validation, max_unpseudonymised_share=0.5))
    outbox = tmp_path / "outbox"
    with world.store() as store:
        result = run_delivery(
            lenient,
            world.settings,
            RunRequest(
                "dica-dsaa",
                export,
                Period.parse("2026-Q4"),
                today=TODAY,
                allow_open_period=True,
                outbox=outbox,
            ),
            world.ports(store),
        )

    (folder,) = outbox.glob(f"**/v{result.version}")
    report = json.loads((folder / "validation-report.json").read_text("utf-8"))
    counts = report["accounting"]
    assert counts["delivered"] == sum(result.record_counts.values()) > 0
    assert counts["records_read"] == result.accounting["records_read"]
    # Every figure, so the holder's numbers add up to the source (decision 0691).
    assert set(counts) == {
        "records_in_source", "duplicates", "entered_in_error", "outside_before", "outside_after",
        "orphans", "records_read", "excluded_optout", "patients", "without_type",
        "without_pseudonym", "dropped", "delivered", "moved_from", "not_followable",
        "unchecked_periods", "other_patient",
    }  # fmt: skip
    assert "missing" not in json.dumps(counts)  # counts only: no reasons, rows or values
    assert "Accounting of the delivery run" in (folder / "validation-report.html").read_text()
