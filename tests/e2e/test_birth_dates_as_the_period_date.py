"""A birth date column mapped as the period date is not echoed by the refusal (CLI, 0604).

An unusable period date is shown in the error when it has the shape of a date, so the
engineer sees what the export wrote. A birth date column under a name of its own
(``GEB_DT``) mapped by mistake onto ``datum_operatie``, exported as ``03/09/1954``
(a format the registration does not read), made every record unusable and the error
listed the first records' full birth dates on stderr, in the Airflow log and in the
event log's failure. The run must still stop with exit 2 naming file, row, column and
what was expected, but show no value that is the record's own birth date.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from test_run_pipeline import _rewrite_operaties, _run_cli_on

from conftest import CATALOGUE, World


def test_a_birth_date_column_as_the_period_date_is_refused_without_the_dates(
    world: World, tmp_path: Path
) -> None:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    registration = catalogue / "registrations" / "dica-dsaa.yaml"
    text = registration.read_text(encoding="utf-8")
    anchor = "          OPERATIEDATUM: datum_operatie\n"
    assert anchor in text
    registration.write_text(text.replace(anchor, "          GEB_DT: datum_operatie\n"), "utf-8")
    source = tmp_path / "export"
    shutil.copytree(world.demo / "csv-utf8", source)
    births: set[str] = set()

    def birth_date_as_geb_dt(row: dict[str, str]) -> None:
        del row["OPERATIEDATUM"]
        day, month, year = row["GEBOORTEDATUM"].split("-")
        row["GEB_DT"] = f"{day}/{month}/{year}"
        births.update({row["GEB_DT"], row["GEBOORTEDATUM"], f"{year}-{month}-{day}"})

    _rewrite_operaties(source, birth_date_as_geb_dt)
    result = _run_cli_on(world, catalogue, source)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "no usable period date operatie.datum_operatie (column GEB_DT" in output
    assert "dsaa_operaties_2026.csv:2 (the record's own birth date, not shown)" in output
    assert not [day for day in births if day in output]
    with world.store() as store:
        logged = "".join(str(event.payload) for event in store.read_all())
    assert not [day for day in births if day in logged]
