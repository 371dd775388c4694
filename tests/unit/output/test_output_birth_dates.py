"""A variable that holds each patient's own birth date is refused before anything is written.

The output guard's tokens are BSNs, patient numbers, names and postcodes; a birth date
column mapped to a clinical variable under a name the catalogue guard does not know
would be delivered in full. These tests plant the people's own birth dates (from
tests/unit/output/conftest.py) in date, datetime, string and integer variables and check that
the delivery is refused naming dataset, variable and counts only, and that a few
records on the birth day (a newborn's operation) are delivered.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pytest

from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.birth_dates import (
    BLOCKING_SHARE,
    BirthDateColumn,
    as_dates,
    birth_date_columns,
    birth_dates,
    compact_dates,
    refuse_birth_date_columns,
)
from aanlevering.output.content import DeliveryInput
from aanlevering.output.guard import IdentifierInDelivery


def _own_birth_dates(dataset: ExtractedDataset) -> list[dt.date | None]:
    """Each record's patient's birth date (the fixtures write them as dd-mm-yyyy)."""
    out: list[dt.date | None] = []
    for text in dataset.identity.column("birth_date").to_pylist():
        if text is None:
            out.append(None)
            continue
        day, month, year = (int(part) for part in text.split("-"))
        out.append(dt.date(year, month, day))
    return out


def _with_column(
    content: DeliveryInput, dataset: str, variable: str, values: list[Any], type_: pa.DataType
) -> DeliveryInput:
    extracted = content.datasets[dataset]
    table = extracted.clinical
    field = pa.field(variable, type_)
    if variable in table.column_names:
        table = table.set_column(table.column_names.index(variable), field, pa.array(values, type_))
    else:
        table = table.append_column(field, pa.array(values, type_))
    datasets = dict(content.datasets)
    datasets[dataset] = replace(extracted, clinical=table)
    return replace(content, datasets=datasets)


def _forms_of(day: dt.date) -> set[str]:
    """Texts a birth date could be written as (none may appear in a message)."""
    return {
        day.isoformat(),
        day.strftime("%d-%m-%Y"),
        day.strftime("%Y%m%d"),
        f"{day.day}-{day.month}-{day.year}",
    }


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
def test_the_example_deliveries_hold_no_birth_date_column(
    delivery: Callable[..., DeliveryInput], registration: str
) -> None:
    content = delivery(registration)
    assert birth_date_columns(content.datasets) == []
    refuse_birth_date_columns(registration, content.datasets)  # does not raise


@pytest.mark.parametrize(
    ("type_", "as_value"),
    [
        (pa.date32(), lambda day: day),
        (pa.timestamp("s"), lambda day: dt.datetime.combine(day, dt.time(8, 15))),
        (pa.string(), lambda day: day.strftime("%d-%m-%Y")),
        (pa.string(), lambda day: f"{day.day}/{day.month}/{day.year}"),
        (pa.string(), lambda day: day.isoformat()),
        (pa.string(), lambda day: day.strftime("%Y%m%d")),
        (pa.int64(), lambda day: int(day.strftime("%Y%m%d"))),
    ],
    ids=["date", "datetime", "dutch", "slashes", "iso", "compact", "number"],
)
def test_a_birth_date_column_blocks_the_delivery_naming_variable_and_counts_only(
    delivery: Callable[..., DeliveryInput],
    type_: pa.DataType,
    as_value: Callable[[dt.date], Any],
) -> None:
    content = delivery("dica-dsaa")
    operaties = content.datasets["operatie"]
    births = _own_birth_dates(operaties)
    values = [None if day is None else as_value(day) for day in births]
    content = _with_column(content, "operatie", "datum_ontslag", values, type_)
    with pytest.raises(IdentifierInDelivery) as caught:
        refuse_birth_date_columns("dica-dsaa", content.datasets)
    message = str(caught.value)
    present = sum(day is not None for day in births)
    assert f"operatie.datum_ontslag in {present} of {present} record(s)" in message
    assert "delivery blocked" in message
    for day in births:
        if day is not None:
            assert not _forms_of(day) & set(re.findall(r"[\d/-]+", message))


def test_a_few_records_on_the_birth_day_are_delivered_and_only_counted_in_the_log(
    delivery: Callable[..., DeliveryInput], caplog: pytest.LogCaptureFixture
) -> None:
    content = delivery("dica-dsaa", records_per_person=3)
    operaties = content.datasets["operatie"]
    births = _own_birth_dates(operaties)
    dates = operaties.clinical.column("datum_operatie").to_pylist()
    first = next(i for i, day in enumerate(births) if day is not None)
    dates[first] = births[first]  # a newborn operated on the day of birth
    content = _with_column(content, "operatie", "datum_operatie", dates, pa.date32())
    with caplog.at_level(logging.INFO, logger="aanlevering.output.birth_dates"):
        refuse_birth_date_columns("dica-dsaa", content.datasets)
    compared = sum(day is not None for day in births)
    assert birth_date_columns(content.datasets) == [
        BirthDateColumn("operatie", "datum_operatie", 1, compared)
    ]
    assert "operatie.datum_operatie: 1 of" in caplog.text
    day = births[first]
    assert day is not None
    assert not any(form in caplog.text for form in _forms_of(day))


@pytest.mark.parametrize(
    ("matches", "compared", "blocks"),
    [(0, 10, False), (4, 10, False), (5, 10, True), (10, 10, True), (1, 1, True), (0, 0, False)],
)
def test_the_share_at_which_a_column_is_a_birth_date_column(
    matches: int, compared: int, blocks: bool
) -> None:
    assert BLOCKING_SHARE == 0.5
    assert BirthDateColumn("d", "v", matches, compared).blocks is blocks


def test_half_the_records_on_their_birth_day_blocks(delivery: Callable[..., DeliveryInput]) -> None:
    content = delivery("dica-dsaa", records_per_person=2)
    operaties = content.datasets["operatie"]
    births = _own_birth_dates(operaties)
    dates = operaties.clinical.column("datum_ontslag").to_pylist()
    for at in range(0, len(dates), 2):  # the first record of each person
        if births[at] is not None:
            dates[at] = births[at]
    content = _with_column(content, "operatie", "datum_ontslag", dates, pa.date32())
    (column,) = birth_date_columns(content.datasets)
    assert column.matches * 2 == column.compared
    with pytest.raises(IdentifierInDelivery):
        refuse_birth_date_columns("dica-dsaa", content.datasets)


def test_texts_are_read_as_the_birth_date_normaliser_reads_them() -> None:
    birth_day = ["1948-01-05", "5-1-1948", "05.01.1948", "19480105", " 1948-01-05 "]
    no_date = [None, "1948-01", "00-00-1948", "31-02-1948", "geboren 5-1-1948", "2999-01-01"]
    texts = pa.array([*birth_day, *no_date, "abc"])
    day = dt.date(1948, 1, 5)
    assert birth_dates(texts).to_pylist() == [day] * 5 + [None] * 7


def test_birth_dates_as_numbers_are_yyyymmdd() -> None:
    dates = pa.array([dt.date(1948, 1, 5), None, dt.date(2001, 12, 31)], pa.date32())
    assert compact_dates(dates).to_pylist() == [19480105, None, 20011231]


def test_an_integer_variable_of_other_numbers_is_no_birth_date_column(
    delivery: Callable[..., DeliveryInput],
) -> None:
    content = delivery("dica-dsaa")
    operaties = content.datasets["operatie"]
    years = [None if day is None else day.year for day in _own_birth_dates(operaties)]
    content = _with_column(content, "operatie", "geboortejaar", years, pa.int64())
    assert birth_date_columns(content.datasets) == []


def test_only_date_datetime_and_string_columns_are_read_as_dates() -> None:
    assert as_dates(pa.array([19480105], pa.int64())) is None
    assert as_dates(pa.array([True], pa.bool_())) is None
    stamp = pa.array([dt.datetime(1948, 1, 5, 23, 59)], pa.timestamp("s"))
    assert as_dates(stamp).to_pylist() == [dt.date(1948, 1, 5)]  # type: ignore[union-attr]
    chunked = pa.chunked_array([pa.array([dt.date(1948, 1, 5)]), pa.array([None], pa.date32())])
    assert as_dates(chunked).to_pylist() == [dt.date(1948, 1, 5), None]  # type: ignore[union-attr]
