"""A CSV export written with UTC offsets is placed in Amsterdam time, like FHIR (decision 0650).

A hospital whose EHR exports instants (``2026-12-31T23:30:00Z``) configures a
``%z`` format. That instant is 00:30 on New Year's day in Amsterdam: the
record belongs to 2027-01, as the FHIR reader places it (decision 0390), and
never to the UTC calendar day.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from extract_fixtures import (
    DSAA_COMPLICATIE_COLUMNS,
    DSAA_OPERATIE_COLUMNS,
    PERSON_A,
    complicatie,
    operatie,
    write_csv,
)

from aanlevering.catalogue import RegistrationConfig
from aanlevering.extract import extract
from aanlevering.extract.casts import CastSpec, cast_text, clean
from aanlevering.periods import Period

OFFSETS = CastSpec(
    date_formats=("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"),
    datetime_formats=("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M"),
)


def _cast(values: list[str], type_name: str) -> list[object]:
    return cast_text(clean(pa.array(values, pa.string())), type_name, OFFSETS).to_pylist()


@pytest.mark.parametrize(
    ("written", "day", "wall"),
    [
        ("2026-12-31T23:30:00Z", date(2027, 1, 1), datetime(2027, 1, 1, 0, 30)),
        ("2027-01-01T00:30:00+01:00", date(2027, 1, 1), datetime(2027, 1, 1, 0, 30)),
        ("2026-12-31T23:30:00+01:00", date(2026, 12, 31), datetime(2026, 12, 31, 23, 30)),
        ("2026-03-31T22:30:00Z", date(2026, 4, 1), datetime(2026, 4, 1, 0, 30)),
        ("2026-03-29T01:30:00Z", date(2026, 3, 29), datetime(2026, 3, 29, 3, 30)),
        ("2026-10-24T22:30:00Z", date(2026, 10, 25), datetime(2026, 10, 25, 0, 30)),
        ("2026-06-30T23:59:59-04:00", date(2026, 7, 1), datetime(2026, 7, 1, 5, 59, 59)),
    ],
)
def test_an_instant_with_an_offset_is_its_amsterdam_day_and_wall_time(
    written: str, day: date, wall: datetime
) -> None:
    assert _cast([written], "date") == [day]
    assert _cast([written], "datetime") == [wall]


def test_offsets_and_local_times_in_one_column_are_one_naive_column() -> None:
    assert _cast(["2026-12-31T23:30:00Z", "2026-05-04T10:15"], "datetime") == [
        datetime(2027, 1, 1, 0, 30),
        datetime(2026, 5, 4, 10, 15),
    ]
    assert _cast(["2026-12-31T23:30:00Z", "2026-05-04"], "date") == [
        date(2027, 1, 1),
        date(2026, 5, 4),
    ]


def test_a_far_future_sentinel_in_utc_keeps_its_day_on_pythons_calendar() -> None:
    """9999-12-31T23:59:59Z is in year 10000 in Amsterdam: it stays 9999-12-31."""
    assert _cast(["9999-12-31T23:59:59Z"], "date") == [date(9999, 12, 31)]
    assert _cast(["9999-12-31T23:59:59Z"], "datetime") == [datetime(9999, 12, 31, 23, 59, 59)]
    # Year 0 in UTC and in Amsterdam's local mean time of year 1: no date, never a crash.
    assert _cast(["0001-01-01T00:10:00+01:00"], "date") == [None]


def test_an_impossible_day_or_short_year_with_an_offset_is_no_date() -> None:
    """Arrow's strptime rolls 31 February over to 3 March; with ``%z`` it must not."""
    assert _cast(["2026-02-31T10:00:00Z", "26-02-03T10:00:00+01:00"], "date") == [None, None]


def test_a_csv_record_at_new_years_night_in_utc_is_delivered_in_january(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    assert dsaa.csv_source is not None
    config = dataclasses.replace(
        dsaa, csv_source=dataclasses.replace(dsaa.csv_source, date_formats=OFFSETS.date_formats)
    )
    folder = tmp_path / "export"
    write_csv(
        folder / "dsaa_operaties.csv",
        DSAA_OPERATIE_COLUMNS,
        [operatie("OK-9", PERSON_A, "2026-12-31T23:30:00Z", OPNAMEDATUM="2026-12-30")],
    )
    write_csv(
        folder / "dsaa_complicaties.csv",
        DSAA_COMPLICATIE_COLUMNS,
        [complicatie("C-9", "OK-9", PERSON_A, "2027-01-02")],
    )
    december = extract(config, folder, Period.parse("2026-12"))
    january = extract(config, folder, Period.parse("2027-01"))

    assert december.datasets["operatie"].clinical.num_rows == 0
    assert december.rows_outside_period == 2
    rows = january.datasets["operatie"].clinical.to_pylist()
    assert [(r["operatie_id"], r["datum_operatie"]) for r in rows] == [("OK-9", date(2027, 1, 1))]
    assert january.datasets["complicatie"].clinical.num_rows == 1
