"""A user who maps (or exports) the wrong column: no identifier leaves in clear (CLI, 0851).

Each case changes the shipped catalogue and the demo export the way a data engineer's
mistake would, runs ``aanlevering run`` against the reference TTP and registry holder,
and wants a non-zero exit with a specific message, nothing staged or at the holder, and
none of the input's identifiers in anything written or printed (var/: logs, reports,
staging, the event log; the holder's storage and log; the TTP's log; the CLI output).

The first case failed before decision 0851: a name column exported under a header the
catalogue guard does not know (``NM_PAT``), mapped onto DSAA's ``techniek`` whose
option-set check only warns, for patients whose family names the output guard does not
search alone (Bos, Vos, Wit, de Jong, de Groot, Post: short, or ordinary words) was
delivered, receipted, exit 0. The others were judged safe from the code only.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from test_failed_runs_leave_no_identifier import leaks_left
from test_run_pipeline import _run_cli_on

from aanlevering.deliver.ledger import load_ledger
from conftest import CATALOGUE, World, fhir_identity_values, identity_values

#: Family names of the demo that the output guard searches only as a phrase or not at all.
UNSEARCHED = frozenset(
    {"Bos", "Vos", "Wit", "Kok", "Dam", "Wal", "Ven", "Jong", "Jonge", "Groot", "Post", "Meer"}
)
TECHNIEK_LINE = (
    "      - {name: techniek, type: code, option_set: techniek, "
    "required_for: [hospital, umc, zbc]}\n"
)

#: The codes of ``techniek`` (no identifier, wherever a swapped export puts them).
TECHNIQUES = frozenset({"EVAR", "OPEN", "FEVAR", "BEVAR"})

Row = dict[str, str]


def _rewrite(source: Path, pattern: str, change: Callable[[list[Row]], list[Row]]) -> None:
    """Replace the rows of the export's files matching ``pattern`` by ``change(rows)``."""
    for file in source.glob(pattern):
        rows = list(
            csv.DictReader(io.StringIO(file.read_text(encoding="utf-8-sig")), delimiter=";")
        )
        rows = change(rows)
        with file.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
            writer.writeheader()
            writer.writerows(rows)


def _only_unsearched_names(source: Path) -> None:
    """Keep the operations (and their complications) of patients with an unsearched name."""
    kept: set[str] = set()

    def operations(rows: list[Row]) -> list[Row]:
        rows = [row for row in rows if row["GESLACHTSNAAM"] in UNSEARCHED]
        kept.update(row["OK_ID"] for row in rows)
        return rows

    _rewrite(source, "dsaa_operaties*.csv", operations)
    _rewrite(source, "dsaa_complicaties*.csv", lambda rows: [r for r in rows if r["OK_ID"] in kept])
    assert len(kept) >= 20


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _name_as_techniek(catalogue: Path, source: Path, severity: str) -> None:
    """``NM_PAT`` (the family name under a header of its own) mapped onto ``techniek``."""
    if severity == "warning":
        _edit(
            catalogue / "dictionaries" / "dsaa" / "2026.1.yaml",
            TECHNIEK_LINE,
            TECHNIEK_LINE.replace("]}", "], severity: warning}"),
        )
    _edit(
        catalogue / "registrations" / "dica-dsaa.yaml",
        "          TECHNIEK: techniek\n",
        "          NM_PAT: techniek\n",
    )
    _only_unsearched_names(source)

    def name_column(rows: list[Row]) -> list[Row]:
        for row in rows:
            del row["TECHNIEK"]
            row["NM_PAT"] = row["GESLACHTSNAAM"]
        return rows

    _rewrite(source, "dsaa_operaties*.csv", name_column)


def _headers_swapped(catalogue: Path, source: Path) -> None:
    """The export wrote the family names under TECHNIEK and the techniques under
    GESLACHTSNAAM (``techniek``'s option-set check a warning)."""
    _edit(
        catalogue / "dictionaries" / "dsaa" / "2026.1.yaml",
        TECHNIEK_LINE,
        TECHNIEK_LINE.replace("]}", "], severity: warning}"),
    )

    def swapped(rows: list[Row]) -> list[Row]:
        for row in rows:
            row["TECHNIEK"], row["GESLACHTSNAAM"] = row["GESLACHTSNAAM"], row["TECHNIEK"]
        return rows

    _rewrite(source, "dsaa_operaties*.csv", swapped)


def _in_every_row(column: str, value: Callable[[Row], str]) -> Callable[[Path, Path], None]:
    """The export's ``column`` of DSAA operations holds ``value(row)`` (a column exported wrong)."""

    def change(catalogue: Path, source: Path) -> None:
        def rows_changed(rows: list[Row]) -> list[Row]:
            for row in rows:
                row[column] = value(row)
            return rows

        _rewrite(source, "dsaa_operaties*.csv", rows_changed)

    return change


CASES: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    # Decision 0851: failed before (exit 0, the names delivered and receipted).
    "name as a code whose option-set check warns": (
        lambda catalogue, source: _name_as_techniek(catalogue, source, "warning"),
        r"operatie\.techniek: a name in (\d+) of \1 record\(s\)",
    ),
    # The option-set check is an error: validation stops the run before staging.
    "name as a code whose option-set check is an error": (
        lambda catalogue, source: _name_as_techniek(catalogue, source, "error"),
        r"validation failed \(\d+ failing error check\(s\)\)",
    ),
    # The PC4 rule: a name or free text exported as the postcode is no postcode.
    "name as the postcode": (
        _in_every_row("POSTCODE", lambda row: row["GESLACHTSNAAM"]),
        r"RGG: (\d+) of \1 patients .* without it, mostly postcode: not a Dutch postcode",
    ),
    "free text as the postcode": (
        _in_every_row("POSTCODE", lambda row: f"{row['GESLACHTSNAAM']}, {row['POSTCODE']}"),
        r"RGG: (\d+) of \1 patients .* without it, mostly postcode: not a Dutch postcode",
    ),
    # Decision 0340 from the other side: the operation date exported as the birth date.
    "operation date as the birth date": (
        _in_every_row("GEBOORTEDATUM", lambda row: row["OPERATIEDATUM"]),
        r"operatie\.datum_operatie in (\d+) of \1 record\(s\)",
    ),
    # Decision 0853: the names under a clinical header, the codes under the name's header
    # (before, stopped only because some names were other patients' partner names).
    "family name and technique headers swapped": (
        _headers_swapped,
        r"operatie: identity own_name holds codes of techniek in (\d+) of \1 record\(s\)",
    ),
    # Decision 0601: the patient number as a clinical number (bmi's range only warns).
    "patient number as a clinical value": (
        _in_every_row("BMI", lambda row: row["PATIENTNUMMER"]),
        r"operatie\.bmi: a patient number in (\d+) of \1 record\(s\)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_wrong_column_stops_the_run_and_leaves_no_identifier(
    world: World, tmp_path: Path, case: str
) -> None:
    plant, expected = CASES[case]
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    before = world.holder.ledger()
    plant(catalogue, source)
    result = _run_cli_on(world, catalogue, source)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert re.search(expected, output), output[-3000:]
    assert world.holder.ledger() == before  # nothing receipted
    staged = world.settings.staging_dir / "dica-dsaa" / "2026-Q4"
    assert not list(staged.rglob("*.csv")) if staged.exists() else True
    assert not list((world.holder.home / "storage").rglob("*operatie*"))
    with world.store() as store:
        assert load_ledger(store).versions("dica-dsaa", "2026-Q4") == []
    planted = identity_values(world.demo) | _written_identifiers(source)
    assert leaks_left(world, planted, result.stdout, result.stderr) == []


def _written_identifiers(source: Path) -> set[str]:
    """Identifiers of the changed export worth searching for: names of five letters or more
    (shorter ones occur inside other words), postcodes and the texts made of them, wherever
    the change put them (a technique code is none)."""
    found: set[str] = set()
    for file in source.glob("dsaa_operaties*.csv"):
        for row in csv.DictReader(io.StringIO(file.read_text(encoding="utf-8-sig")), delimiter=";"):
            for column in ("GESLACHTSNAAM", "NM_PAT", "POSTCODE", "TECHNIEK"):
                value = row.get(column) or ""
                if len(value) >= 5 and value not in TECHNIQUES:
                    found.add(value)
    return found


OWN_NAME_URL = "http://hl7.org/fhir/StructureDefinition/humanname-own-name"
URGENTIE_URL = "https://aanlevering.example/fhir/StructureDefinition/urgentie"


def _own_names(patients: Path) -> dict[str, str]:
    """Patient id -> own family name (the own-name extension, else ``family``)."""
    names: dict[str, str] = {}
    for line in patients.read_text(encoding="utf-8").splitlines():
        patient = json.loads(line)
        name = patient["name"][0]
        own = [
            e["valueString"]
            for e in name.get("_family", {}).get("extension", ())
            if e["url"] == OWN_NAME_URL
        ]
        names[patient["id"]] = own[0] if own else name["family"]
    return names


def test_a_fhir_extension_holding_the_patients_name_stops_the_run(
    world: World, tmp_path: Path
) -> None:
    """The EHR wrote each patient's name into the urgency extension mapped onto ``urgentie``
    (option-set check a warning): the FHIR path stops before writing (decision 0851)."""
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    line = TECHNIEK_LINE.replace("techniek", "urgentie")
    _edit(
        catalogue / "dictionaries" / "dsaa" / "2026.1.yaml",
        line,
        line.replace("]}", "], severity: warning}"),
    )
    source = tmp_path / "fhir"
    shutil.copytree(world.demo / "fhir-bulk" / "dica-dsaa", source)
    names = _own_names(source / "Patient.ndjson")
    procedures = []
    for text in (source / "Procedure.ndjson").read_text(encoding="utf-8").splitlines():
        procedure = json.loads(text)
        patient = procedure["subject"]["reference"].removeprefix("Patient/")
        for extension in procedure.get("extension", ()):
            if extension["url"] == URGENTIE_URL:
                extension["valueCode"] = names[patient]
        procedures.append(json.dumps(procedure, separators=(",", ":")))
    (source / "Procedure.ndjson").write_text("\n".join(procedures) + "\n", encoding="utf-8")
    before = world.holder.ledger()
    result = _run_cli_on(world, catalogue, source)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert re.search(r"operatie\.urgentie: a name in (\d+) of \1 record\(s\)", output), output[
        -3000:
    ]
    assert world.holder.ledger() == before
    with world.store() as store:
        assert load_ledger(store).versions("dica-dsaa", "2026-Q4") == []
    planted = identity_values(world.demo) | fhir_identity_values(world.demo)
    planted |= {name for name in names.values() if len(name) >= 5}
    assert leaks_left(world, planted, result.stdout, result.stderr) == []
