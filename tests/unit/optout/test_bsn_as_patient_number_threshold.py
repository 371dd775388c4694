"""Where the BSN-as-patient-number check (decision 0641) draws its line."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from aanlevering.errors import ConfigError
from aanlevering.optout.bsn_check import bsn_passing_count, check_patient_numbers_are_no_bsns
from aanlevering.pseudonym.normalise.bsn import passes_elfproef


def _numbers(count: int, *, bsn: bool, seed: int, digits: int = 9) -> list[str]:
    rng = random.Random(seed)
    found: set[str] = set()
    while len(found) < count:
        value = f"{rng.randrange(10 ** (digits - 1), 10**digits):0{digits}d}"
        if passes_elfproef(value.rjust(9, "0")) == bsn:
            found.add(value)
    return sorted(found)


def _check(values: list[str]) -> None:
    check_patient_numbers_are_no_bsns("dica-dsaa", "2026-Q1", {"operatie": pa.array(values)}, "csv")


def test_nine_digit_hospital_numbers_pass_the_eleven_test_only_by_chance() -> None:
    rng = random.Random(3)
    numbers = [f"{rng.randrange(10**8, 10**9)}" for _ in range(5000)]
    distinct, passing = bsn_passing_count(pa.array(numbers))
    assert distinct == len(set(numbers))
    assert 0.06 < passing / distinct < 0.12  # about 1 in 11
    _check(numbers)  # not refused


def test_bsns_as_half_the_patient_numbers_stop_the_run_naming_counts_only() -> None:
    bsns = _numbers(10, bsn=True, seed=1)
    others = _numbers(10, bsn=False, seed=2)
    with pytest.raises(ConfigError, match="10 of its 20 patient numbers") as refused:
        _check([*bsns, *others, *bsns, None, " "])  # repeats, blanks and nulls count once/never
    assert not any(value in str(refused.value) for value in bsns + others)


def test_bsns_that_lost_their_leading_zero_are_bsns_too() -> None:
    lost = _numbers(20, bsn=True, seed=4, digits=8)  # 0 + these eight digits pass
    with pytest.raises(ConfigError, match="holds BSNs"):
        _check(lost)


@pytest.mark.parametrize(("bsns", "others"), [(9, 0), (10, 11)])
def test_too_few_or_a_minority_of_passing_numbers_is_no_finding(bsns: int, others: int) -> None:
    _check(_numbers(bsns, bsn=True, seed=5) + _numbers(others, bsn=False, seed=6))
