"""One patient number with two BSNs or birth dates stops the run; one BSN written two ways does not.

Pseudonymisation takes one identity row per patient number. A DSAA export in
which a second operation of patient A came with another person's BSN (a
merged patient record, a row joined to the wrong patient) was pseudonymised
with whichever BSN came first, delivered and receipted, exit 0: the records
of one number went out under one person's linkage pseudonym, one of them
another person's. Now the run stops with exit 2 before anything is
pseudonymised or sent, with a count and no number (1015). The same BSN written
with dots in the second row is the same BSN: that export is delivered. The
same BSN with another person's birth date, sex and name stops it too (1018).
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from conftest import CATALOGUE, World, identity_values
from support.leaks import LeakFinder

Row = dict[str, str]
#: The demo's BSN column and its patient number, as DSAA's operations export them.
BSN, NUMBER = "BSN", "PATIENTNUMMER"


def _eleven_test(bsn: str) -> bool:
    digits = bsn.zfill(9)
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    if len(digits) != 9 or not digits.isdigit():
        return False
    return sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 11 == 0


#: The identity columns of DSAA's operations other than the BSN and the patient number.
PERSON = (
    "VOORVOEGSELS", "GESLACHTSNAAM", "PARTNERVOORVOEGSELS", "PARTNERNAAM", "VOORLETTERS",
    "GEBOORTEDATUM", "GESLACHT", "POSTCODE", "HUISNUMMER", "HUISNUMMERTOEVOEGING",
)  # fmt: skip


def _second_operation(
    demo: Path, tmp: Path, *, same_bsn: bool, same_person: bool | None = None
) -> Path:
    """The demo export where a Q1 operation of one patient is given another's number.

    ``same_bsn``: its BSN is the first patient's too, written with dots; otherwise the
    row keeps its own (another person's) BSN. ``same_person`` (default: ``same_bsn``):
    its other identity columns are the first patient's too; otherwise its own
    (another person's birth date, sex and name; decision 1018).
    """
    same_person = same_bsn if same_person is None else same_person
    source = tmp / "input"
    shutil.copytree(demo / "csv-utf8", source)
    (file,) = source.glob("dsaa_operaties*.csv")
    rows = list(csv.DictReader(io.StringIO(file.read_text(encoding="utf-8-sig")), delimiter=";"))
    q1 = [
        row
        for row in rows
        if row["OPERATIEDATUM"][3:5] in ("01", "02", "03") and _eleven_test(row[BSN])
    ]
    first, second = q1[0], next(r for r in q1[1:] if r[NUMBER] != q1[0][NUMBER])
    assert first[BSN] != second[BSN]
    second[NUMBER] = first[NUMBER]
    if same_bsn:
        digits = first[BSN].zfill(9)
        second[BSN] = f"{digits[:4]}.{digits[4:6]}.{digits[6:]}"
    if same_person:
        for column in PERSON:
            second[column] = first[column]
    else:
        assert first["GEBOORTEDATUM"] != second["GEBOORTEDATUM"]
    with file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return source


def _run(world: World, source: Path, outbox: Path) -> tuple[int, str]:
    result = world.cli(
        CATALOGUE,
        "run",
        "--registration", "dica-dsaa",
        "--input", str(source),
        "--period", "2026-Q1",
        "--outbox", str(outbox),
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def test_a_patient_number_with_two_bsns_stops_the_run_before_pseudonymising(
    world: World, tmp_path: Path
) -> None:
    source = _second_operation(world.demo, tmp_path, same_bsn=False)
    outbox = tmp_path / "outbox"
    code, output = _run(world, source, outbox)
    assert code == 2, output[-3000:]
    assert "1 patient number(s) carry two or more different valid BSNs" in output
    assert "dataset(s) operatie" in output
    assert "Nothing of this run was pseudonymised or sent" in output
    assert not outbox.exists() or not list(outbox.rglob("*"))
    assert LeakFinder(identity_values(world.demo)).found_in(output) == set()


def test_one_bsn_written_two_ways_is_one_bsn(world: World, tmp_path: Path) -> None:
    source = _second_operation(world.demo, tmp_path, same_bsn=True)
    outbox = tmp_path / "outbox"
    code, output = _run(world, source, outbox)
    assert code == 0, output[-3000:]
    assert "two or more different valid BSNs" not in output
    assert "handed-over: dica-dsaa 2026-Q1" in output  # placed in the outbox, as any run


def test_a_patient_number_with_two_birth_dates_stops_the_run_before_pseudonymising(
    world: World, tmp_path: Path
) -> None:
    """One BSN but another person's birth date, sex and name under one number (1018)."""
    source = _second_operation(world.demo, tmp_path, same_bsn=True, same_person=False)
    outbox = tmp_path / "outbox"
    code, output = _run(world, source, outbox)
    assert code == 2, output[-3000:]
    assert "two or more different valid BSNs" not in output
    assert "1 patient number(s) carry two or more different values of identity field(s)" in output
    assert "birth_date" in output and "dataset(s) operatie" in output
    assert "Nothing of this run was pseudonymised or sent" in output
    assert not outbox.exists() or not list(outbox.rglob("*"))
    assert LeakFinder(identity_values(world.demo)).found_in(output) == set()
