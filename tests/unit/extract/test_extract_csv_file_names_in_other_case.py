"""A CSV export file whose name matches a dataset's pattern but for case is not left out silently.

File patterns are matched as written (``dsaa_operaties*.csv``): a second
part of the export saved as ``DSAA_operaties_2026_deel2.CSV`` by another tool
was left out without a word while the first part was read, its records in no
count of the run. Such a file now stops the extract, naming it and the
pattern (decision 0695); files of other registrations in a shared folder
(which match no pattern at all) are still passed over.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from extract_fixtures import (
    DSAA_OPERATIE_COLUMNS,
    PERSON_B,
    dsaa_export,
    operatie,
    write_csv,
)

from aanlevering.catalogue import RegistrationConfig
from aanlevering.errors import ExtractError
from aanlevering.extract import extract
from aanlevering.periods import Period

YEAR = Period.parse("2026")


def test_a_part_named_in_another_case_stops_the_extract(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = dsaa_export(tmp_path / "export")
    read = extract(dsaa, folder, YEAR).datasets["operatie"].num_rows
    write_csv(folder / "ltr_trauma_2026.csv", ["A"], [{"A": "1"}])  # another registration's
    assert extract(dsaa, folder, YEAR).datasets["operatie"].num_rows == read
    write_csv(folder / "DSAA_operaties_2026_deel2.CSV", DSAA_OPERATIE_COLUMNS,
              [operatie("OK-9", PERSON_B, "04-06-2026")])  # fmt: skip
    with pytest.raises(ExtractError) as stopped:
        extract(dsaa, folder, YEAR)
    message = str(stopped.value)
    assert "DSAA_operaties_2026_deel2.CSV" in message
    assert "dsaa_operaties*.csv" in message and "case" in message
