"""A column mapped straight onto a generalised variable is generalised all the same (1071).

The catalogue lets an export's own birth-year or PC4 column fill such a
variable; one holding the full postcode or a compact birth date under another
name was delivered as written (the integer 19560312 passes as a number), with
only the dictionary's pattern or range check between it and the registry
holder. Here the ldtr trauma export maps ``WOONPC`` onto ``pc4_woonplaats`` and
``GEB_JAAR`` onto ``geboortejaar``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from extract_fixtures import PERSON_A, PERSON_B, PERSON_C, write_csv

from aanlevering.catalogue import RegistrationConfig
from aanlevering.extract import extract_csv
from aanlevering.periods import Period

BASE = {"MECHANISME": "VK-FIETS", "VERVOER": "AMB", "EMV_TOTAAL": "14", "RR_SYST": "125",
        "AF": "18", "ISS": "9", "IC_OPNAME": "0", "ONTSLAGBESTEMMING": "HUIS",
        "AANKOMST_SEH": "14-03-2026 22:05", "ONTSLAGDATUM": "20-03-2026"}  # fmt: skip


def _with_own_columns(ldtr: RegistrationConfig) -> RegistrationConfig:
    """ldtr whose export brings its own PC4 and birth-year columns."""
    assert ldtr.csv_source is not None
    trauma = ldtr.csv_source.datasets["trauma"]
    columns = {**trauma.columns, "WOONPC": "pc4_woonplaats", "GEB_JAAR": "geboortejaar"}
    source = dataclasses.replace(
        ldtr.csv_source,
        datasets={
            **ldtr.csv_source.datasets,
            "trauma": dataclasses.replace(trauma, columns=columns),
        },
    )
    return dataclasses.replace(ldtr, csv_source=source)


def test_full_values_in_a_mapped_generalised_column_are_cut_or_dropped(
    tmp_path: Path, ldtr: RegistrationConfig
) -> None:
    config = _with_own_columns(ldtr)
    assert config.csv_source is not None
    trauma = config.csv_source.datasets["trauma"]
    header = list(dict.fromkeys([*trauma.columns, *trauma.identity]))
    people = (PERSON_A, PERSON_B, PERSON_C)
    own = [("3511 KL", "19560312"), ("5678", "1956"), ("not a postcode", "12-03-1956")]
    rows = [
        {**BASE, **person, "TRAUMA_ID": f"T-{n}", "DATUM_ONGEVAL": "14-03-2026",
         "WOONPC": postcode, "GEB_JAAR": year}
        for n, (person, (postcode, year)) in enumerate(zip(people, own, strict=True))
    ]  # fmt: skip
    write_csv(tmp_path / "ltr_trauma_2026.csv", header, rows)
    extracted = extract_csv(config, tmp_path, Period.parse("2026-03")).datasets["trauma"]
    clinical = extracted.clinical
    assert clinical.column("pc4_woonplaats").to_pylist() == ["3511", "5678", None]
    # 19560312 is no date of the export's formats: nothing is delivered, a type problem says so.
    assert clinical.column("geboortejaar").to_pylist() == [None, 1956, 1956]
    delivered = " ".join(str(v) for v in clinical.to_pylist())
    assert "3511 KL" not in delivered and "19560312" not in delivered
    assert "12-03-1956" not in delivered
    problems = {(p.variable, p.row_ref) for p in extracted.type_problems}
    refs = extracted.row_refs.to_pylist()
    assert {("pc4_woonplaats", refs[2]), ("geboortejaar", refs[0])} <= problems
    assert "3511 KL" not in repr(extracted.type_problems)
