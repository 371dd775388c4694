"""A BSN written as a decimal number ("10000094.0") is refused, never read as another BSN.

Exports that held the BSN as a floating-point number write the 8-digit form
of a BSN that lost its leading zero as "10000094.0". Removing the dot as a
group separator turned that into "100000940": nine digits that, for about one
number in eleven, pass the elfproef, so the patient got the B pseudonym of a
different person (audit, decision 0385).
"""

from __future__ import annotations

import pytest

from aanlevering.pseudonym.normalise import failures as reasons
from aanlevering.pseudonym.normalise.bsn import normalise_bsn, passes_elfproef
from aanlevering.pseudonym.normalise.failures import FieldInvalid


def test_the_example_would_be_another_valid_bsn() -> None:
    # the person's BSN is 010000094; the digits with the dot dropped are 100000940
    assert passes_elfproef("010000094")
    assert passes_elfproef("100000940")


@pytest.mark.parametrize(
    "value",
    ["10000094.0", " 10000094.0 ", "10000094.00", "1000009.00", "100000940.0", "010000094.0"],
)
def test_decimal_text_is_an_error(value: str) -> None:
    with pytest.raises(FieldInvalid) as raised:
        normalise_bsn(value)
    assert raised.value.reason == reasons.BSN_DECIMAL


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("10000094", "010000094"),
        ("1000.00.940", "100000940"),
        ("100.000.940", "100000940"),
        ("1112.22.333", "111222333"),
    ],
)
def test_grouped_forms_still_read(value: str, canonical: str) -> None:
    assert normalise_bsn(value) == canonical
