"""A configuration that takes the BSN as the hospital patient number stops the run (0641).

The patient number keys the opt-out register and the reversible MRN
pseudonym, which may come from the local patient number only, never from
the BSN. A CSV column ``BSN`` listed under ``identity`` as ``mrn``, or
``source.fhir.mrn_system`` set to the BSN naming system, loaded and
delivered: the registry holder received reversible pseudonyms of BSNs, and
no opt-out (keyed by the MRN) could match. The run now stops before anything
is pseudonymised or sent, with counts only.

Where the config says it outright (a column named BSN, the BSN's system) the
catalogue refuses it before any data is read (0760); the data check (0641)
catches a BSN column under another name.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from conftest import CATALOGUE, World, fhir_identity_values, identity_values
from support.leaks import LeakFinder

BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
#: How each source kind is led to take the BSN for the MRN: (input, text, replacement).
MISTAKES = {
    "csv identity BSN: mrn": (
        "csv-utf8",
        "          PATIENTNUMMER: patient_id\n          BSN: bsn\n",
        "          PATIENTNUMMER: patient_id\n          BSN: mrn\n",
    ),
    "fhir mrn_system is the BSN's": (
        "fhir-bulk/dica-dsaa",
        "  fhir:\n",
        f'  fhir:\n    mrn_system: "{BSN_SYSTEM}"\n',
    ),
}


def _catalogue(tmp: Path, text: str, replacement: str) -> Path:
    catalogue = tmp / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    registration = catalogue / "registrations" / "dica-dsaa.yaml"
    shipped = registration.read_text(encoding="utf-8")
    assert shipped.count(text) == 1
    registration.write_text(shipped.replace(text, replacement), encoding="utf-8")
    return catalogue


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_config_naming_the_bsn_as_the_patient_number_is_refused_before_reading(
    world: World, tmp_path: Path, mistake: str
) -> None:
    source, text, replacement = MISTAKES[mistake]
    catalogue = _catalogue(tmp_path, text, replacement)
    outbox = tmp_path / "outbox"
    result = world.cli(
        catalogue,
        "run",
        "--registration", "dica-dsaa",
        "--input", str(world.demo / source),
        "--period", "2026-Q1",
        "--outbox", str(outbox),
    )  # fmt: skip
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "dica-dsaa.yaml" in result.stderr
    assert ("is never a patient number" in result.stderr) or (
        "is the BSN's identifier system" in result.stderr
    )
    assert not outbox.exists() or not list(outbox.rglob("*"))


def _input_with_the_bsn_column_renamed(demo: Path, tmp: Path, name: str) -> Path:
    """The demo CSV export with its ``BSN`` column under another name, values unchanged."""
    target = tmp / "renamed-input"
    shutil.copytree(demo / "csv-utf8", target)
    renamed = 0
    for file in target.glob("*.csv"):
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        dialect = csv.Sniffer().sniff(lines[0])
        header = next(csv.reader([lines[0]], dialect))
        if "BSN" in header:
            header[header.index("BSN")] = name
            lines[0] = dialect.delimiter.join(header) + "\n"
            file.write_text("".join(lines), encoding="utf-8")
            renamed += 1
    assert renamed
    return target


def test_a_bsn_column_under_another_name_taken_as_the_patient_number_stops_the_run(
    world: World, tmp_path: Path
) -> None:
    catalogue = _catalogue(
        tmp_path,
        "          PATIENTNUMMER: patient_id\n          BSN: bsn\n",
        "          PATIENTNUMMER: patient_id\n          IDNUMMER: mrn\n",
    )
    source = _input_with_the_bsn_column_renamed(world.demo, tmp_path, "IDNUMMER")
    outbox = tmp_path / "outbox"
    result = world.cli(
        catalogue,
        "run",
        "--registration", "dica-dsaa",
        "--input", str(source),
        "--period", "2026-Q1",
        "--outbox", str(outbox),
    )  # fmt: skip
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "passing the BSN eleven-test" in result.stderr
    assert "holds BSNs" in result.stderr
    assert not list(outbox.rglob("*.json"))  # nothing left the hospital
    identifiers = identity_values(world.demo) | fhir_identity_values(world.demo)
    finder = LeakFinder(identifiers)
    assert finder.found_in(result.stdout + result.stderr) == set()
