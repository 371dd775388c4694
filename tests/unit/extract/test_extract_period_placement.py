"""Which delivery period a FHIR record lands in: its period date in Amsterdam time (decision 0390).

A FHIR ``dateTime`` carries a UTC offset; ``2026-03-31T23:30:00Z`` is 1 April
in Amsterdam. Periods are Amsterdam calendar periods, so such a record belongs
to April (and to Q2, and to the next year at New Year), in exactly one period,
whichever reader reads it.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from aanlevering.catalogue import RegistrationConfig
from aanlevering.errors import ExtractError
from aanlevering.extract.fhir import _Plan
from aanlevering.extract.fhir_values import convert
from aanlevering.periods import Period

NL = Path(__file__).resolve().parents[2] / "fixtures" / "extract" / "fhir-nl"


def _export(tmp_path: Path, performed: str) -> Path:
    """The NL fixture export with proc-1 performed at ``performed``."""
    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    path = folder / "Procedure.ndjson"
    resources = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    for resource in resources:
        if resource["id"] == "proc-1":
            resource["performedDateTime"] = performed
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), "utf-8")
    return folder


def _placed(config: RegistrationConfig, folder: Path, periods: list[Period]) -> dict[str, date]:
    """Per period label (and reader) the date proc-1 was delivered with, where it was kept."""
    plan = _Plan.of(config, None)
    found: dict[str, date] = {}
    for period in periods:
        for reader in (plan.stored, plan.streamed):
            rows = reader(folder, period).datasets["operatie"].clinical.to_pylist()
            for row in rows:
                if row["operatie_id"] == "proc-1":
                    found[f"{period}/{reader.__name__}"] = row["datum_operatie"]
    return found


@pytest.mark.parametrize(
    ("performed", "expected"),
    [
        ("2026-03-31T23:30:00Z", date(2026, 4, 1)),
        ("2026-03-31T22:00:00Z", date(2026, 4, 1)),
        ("2026-03-31T21:59:59Z", date(2026, 3, 31)),
        ("2026-03-31T22:00:00.123456789Z", date(2026, 4, 1)),
        ("2026-03-31T23:30:00+01:00", date(2026, 4, 1)),
        ("2026-04-01T00:30:00+02:00", date(2026, 4, 1)),
        ("2026-03-31T23:59:59+02:00", date(2026, 3, 31)),
        ("2026-04-01T01:00:00+05:00", date(2026, 3, 31)),
        ("2026-03-31", date(2026, 3, 31)),
        ("2026-04-01", date(2026, 4, 1)),
    ],
)
def test_a_record_lands_in_exactly_the_amsterdam_quarter(
    tmp_path: Path, dsaa: RegistrationConfig, performed: str, expected: date
) -> None:
    placed = _placed(
        dsaa, _export(tmp_path, performed), [Period.parse("2026-Q1"), Period.parse("2026-Q2")]
    )
    label = str(Period.containing(expected, "quarter"))
    assert placed == {f"{label}/stored": expected, f"{label}/streamed": expected}


def test_new_years_night_in_utc_is_owed_in_2026(tmp_path: Path, dsaa: RegistrationConfig) -> None:
    """00:30 on 1 January 2026 in Amsterdam is still 2025 in UTC; it is owed all the same."""
    folder = _export(tmp_path, "2025-12-31T23:30:00Z")
    placed = _placed(dsaa, folder, [Period.parse("2025"), Period.parse("2026")])
    assert placed == {"2026/stored": date(2026, 1, 1), "2026/streamed": date(2026, 1, 1)}


def test_leap_day_night_moves_to_march(tmp_path: Path, dsaa: RegistrationConfig) -> None:
    folder = _export(tmp_path, "2028-02-29T23:30:00Z")
    placed = _placed(dsaa, folder, [Period.parse("2028-02"), Period.parse("2028-03")])
    assert placed == {"2028-03/stored": date(2028, 3, 1), "2028-03/streamed": date(2028, 3, 1)}


@pytest.mark.parametrize(
    "performed", ["2026-03-31T24:00:00+02:00", "2026-03-31Tfoo", "2026-03-31T"]
)
def test_a_date_with_a_broken_time_is_no_usable_period_date(
    tmp_path: Path, dsaa: RegistrationConfig, performed: str
) -> None:
    plan = _Plan.of(dsaa, None)
    folder = _export(tmp_path, performed)
    for reader in (plan.stored, plan.streamed):
        with pytest.raises(ExtractError, match=r"no usable period date") as error:
            reader(folder, Period.parse("2026-Q1"))
        assert "Procedure.ndjson" in str(error.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-31T23:30:00Z", datetime(2026, 4, 1, 1, 30)),
        ("2026-01-15T10:00:00+01:00", datetime(2026, 1, 15, 10, 0)),
        ("2026-07-15T10:00:00+01:00", datetime(2026, 7, 15, 11, 0)),
        ("2026-03-29T01:30:00Z", datetime(2026, 3, 29, 3, 30)),
        ("2026-07-15T10:00:00", datetime(2026, 7, 15, 10, 0)),
    ],
)
def test_a_datetime_is_kept_as_amsterdam_wall_time(value: str, expected: datetime) -> None:
    assert convert(value, "datetime") == (expected, True)


@pytest.mark.parametrize(
    ("value", "type_name", "expected"),
    [
        ("9999-12-31T23:59:59Z", "date", date(9999, 12, 31)),
        ("9999-12-31T23:59:59Z", "datetime", datetime(9999, 12, 31, 23, 59, 59)),
        ("9999-12-31T23:30:00+00:00", "date", date(9999, 12, 31)),
        ("0001-01-01T00:10:00+01:00", "date", None),
    ],
)
def test_a_sentinel_at_the_calendars_edge_keeps_its_day_or_is_none(
    value: str, type_name: str, expected: object
) -> None:
    """A far-future "open end" in UTC is in year 10000 in Amsterdam: never a crash (0655)."""
    assert convert(value, type_name) == (expected, expected is not None)


def test_a_far_future_sentinel_is_placed_after_the_period(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _export(tmp_path, "9999-12-31T23:59:59Z")
    plan = _Plan.of(dsaa, None)
    for reader in (plan.stored, plan.streamed):
        extract = reader(folder, Period.parse("2026-Q1"))
        ids = [r["operatie_id"] for r in extract.datasets["operatie"].clinical.to_pylist()]
        assert "proc-1" not in ids
        assert extract.rows_outside_period > extract.rows_before_period
