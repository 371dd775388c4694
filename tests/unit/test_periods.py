"""Delivery periods are calendar-aligned and labelled as engineers type them."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from aanlevering.errors import ConfigError
from aanlevering.periods import Period, periods_between


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2026", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 4, 1)),
        ("2026-q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-02", date(2026, 2, 1), date(2026, 3, 1)),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
    ],
)
def test_parse_gives_half_open_interval(label: str, start: date, end: date) -> None:
    period = Period.parse(label)
    assert (period.start, period.end) == (start, end)
    assert period.label == label.upper().replace("Q", "Q")


@pytest.mark.parametrize("label", ["26", "2026-Q5", "2026-13", "2026-1", "jan 2026", ""])
def test_parse_rejects_other_labels(label: str) -> None:
    with pytest.raises(ConfigError, match="is not a year"):
        Period.parse(label)


def test_contains_is_half_open() -> None:
    q1 = Period.parse("2026-Q1")
    assert q1.contains(date(2026, 1, 1))
    assert q1.contains(date(2026, 3, 31))
    assert not q1.contains(date(2026, 4, 1))
    assert not q1.contains(date(2025, 12, 31))


def test_periods_between_covers_2026_without_gaps() -> None:
    months = list(periods_between(date(2026, 1, 1), date(2027, 1, 1), "month"))
    assert [p.label for p in months][:2] == ["2026-01", "2026-02"]
    assert len(months) == 12
    assert all(a.end == b.start for a, b in itertools.pairwise(months))
    quarters = list(periods_between(date(2026, 2, 15), date(2026, 11, 22), "quarter"))
    assert [p.label for p in quarters] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
