"""A CSV mapping that swaps the MRN and patient-number columns stops the run (decision 0610).

Opt-outs are keyed by the hospital patient number (MRN). An export that has
both the MRN and another patient number (the EHR's internal id), mapped the
wrong way round in ``source.csv.datasets``, keyed every record by the other
number: no opt-out matched and the patients who objected were delivered.
The run now sees that the patient-number column matches opt-outs the MRN
column does not, and stops before anything is pseudonymised or sent.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

from aanlevering.optout.rules import RULES_FILE
from conftest import CATALOGUE, World, identity_values
from support.leaks import LeakFinder

#: Opted-out patients with an operation in 2026-Q4 (the check stops from 3 on).
OPTED_OUT = 5


def _add_epd_ids(source: Path) -> dict[str, str]:
    """Give every DSAA row an EHR-internal patient id (``EPD_ID``) beside its MRN; MRN -> id."""
    ids: dict[str, str] = {}
    for file in [*source.glob("dsaa_operaties*.csv"), *source.glob("dsaa_complicaties*.csv")]:
        text = file.read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
        for row in rows:
            mrn = row["PATIENTNUMMER"]
            row["EPD_ID"] = ids.setdefault(mrn, f"EPD{len(ids) + 1:07d}")
        with file.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
            writer.writeheader()
            writer.writerows(rows)
    return ids


def _catalogue(tmp: Path, mrn_column: str, number_column: str) -> Path:
    """The shipped catalogue; DSAA maps ``mrn_column`` to mrn, ``number_column`` to patient_id."""
    catalogue = tmp / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    registration = catalogue / "registrations" / "dica-dsaa.yaml"
    text = registration.read_text(encoding="utf-8")
    mapping = f"          {mrn_column}: mrn\n          {number_column}: patient_id\n"
    text, replaced = re.subn(r"          PATIENTNUMMER: patient_id\n", mapping, text)
    assert replaced == 2  # operatie and complicatie
    registration.write_text(text, encoding="utf-8")
    return catalogue


def _q4_patients(source: Path) -> list[str]:
    """MRNs of patients operated on in October 2026 (in 2026-Q4, and past), each once."""
    mrns: dict[str, None] = {}
    for file in source.glob("dsaa_operaties*.csv"):
        text = file.read_text(encoding="utf-8-sig")
        for row in csv.DictReader(io.StringIO(text), delimiter=";"):
            if row["OPERATIEDATUM"].endswith("-10-2026"):
                mrns.setdefault(row["PATIENTNUMMER"])
    return list(mrns)


def _run(world: World, catalogue: Path, source: Path) -> tuple[int, str]:
    arguments = ["--registration", "dica-dsaa", "--input", str(source), "--period", "2026-Q4"]
    result = world.cli(catalogue, "run", *arguments, "--allow-open-period")
    return result.returncode, result.stdout + result.stderr


def test_swapped_mrn_and_patient_number_columns_stop_the_run(world: World, tmp_path: Path) -> None:
    (world.settings.home / RULES_FILE).write_text(
        "effective_from: 2026-01-01\nregistered_during_period: whole-period\n", encoding="utf-8"
    )
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    epd_ids = _add_epd_ids(source)
    opted_out = _q4_patients(source)[:OPTED_OUT]
    optouts = tmp_path / "optouts.csv"
    optouts.write_text(
        "patientnummer;datum_registratie;scope\n"
        + "".join(f"{mrn};15-01-2026;all\n" for mrn in opted_out),
        encoding="utf-8",
    )
    ingest = world.cli(CATALOGUE, "optout", "ingest", str(optouts))
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    before = world.holder.ledger()

    swapped = _catalogue(tmp_path / "swapped", mrn_column="EPD_ID", number_column="PATIENTNUMMER")
    code, output = _run(world, swapped, source)
    assert code == 2, output[-3000:]
    assert "are the MRN and patient-number columns swapped in source.csv.datasets?" in output
    assert "dica-dsaa" in output and "operatie" in output
    assert "EPD_ID" in output and "PATIENTNUMMER" in output
    assert f"{OPTED_OUT} patient(s)" in output
    assert world.holder.ledger() == before  # nothing delivered
    assert "stage pseudonymise" not in output  # stopped before the TTP saw anything
    planted = identity_values(world.demo) | set(epd_ids.values())
    assert LeakFinder(planted).found_in(output) == set()

    right = _catalogue(tmp_path / "right", mrn_column="PATIENTNUMMER", number_column="EPD_ID")
    code, output = _run(world, right, source)
    assert code == 0, output[-3000:]
    assert world.holder.ledger() != before
    excluded = re.search(r"excluded by opt-out (\d+)", output)
    assert excluded is not None and int(excluded.group(1)) >= OPTED_OUT, output[-2000:]
    assert LeakFinder(planted).found_in(output) == set()
