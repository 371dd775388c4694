"""The run's identifier tokens split in Arrow: the same tokens as splitting value by value."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.output.guard import (
    identifier_tokens,
    identifier_tokens_reference,
    number_tokens,
    number_tokens_reference,
    postcode_tokens,
    postcode_tokens_reference,
)

VOCABULARY = {"operatie", "1234567", "jansen"}
AWKWARD = st.text(alphabet=st.sampled_from(list("abcXYZ0123456789 -_./'éİßÅ\u00a0\t")), max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    values=st.sets(st.one_of(AWKWARD, st.text(max_size=20)), max_size=30),
    shortest=st.sampled_from([1, 4, 6]),
    letters=st.booleans(),
)
def test_same_tokens_as_value_by_value(values: set[str], shortest: int, letters: bool) -> None:
    assert identifier_tokens(values, shortest, letters, VOCABULARY) == identifier_tokens_reference(
        values, shortest, letters, VOCABULARY
    )


def test_edges() -> None:
    values = {
        "",
        "MRN_0012345",
        "--1234567--",
        "de Vries-Jansen",
        "Çelik",
        "A.B.123456",
        "12345678",
    }
    for shortest in (1, 4, 6):
        for letters in (False, True):
            assert identifier_tokens(
                values, shortest, letters, VOCABULARY
            ) == identifier_tokens_reference(values, shortest, letters, VOCABULARY)
    assert identifier_tokens(set(), 4, True, VOCABULARY) == set()
    assert "0012345" in identifier_tokens({"MRN_0012345"}, 6, False, VOCABULARY)


POSTCODE_LIKE = st.text(alphabet=st.sampled_from(list("0123456789 abAB\u212a\tZz\n")), max_size=9)


@settings(max_examples=300, deadline=None)
@given(values=st.sets(st.one_of(POSTCODE_LIKE, st.text(max_size=8)), max_size=30))
def test_same_postcodes_as_value_by_value(values: set[str]) -> None:
    assert postcode_tokens(values) == postcode_tokens_reference(values)


def test_postcode_edges() -> None:
    values = {
        "1012 NX",
        "1012nx",
        "0123 AB",
        "1012 NX\n",
        " 3511 ab ",
        "1012 \u212aX",
        "12345AB",
        "",
    }
    assert postcode_tokens(values) == postcode_tokens_reference(values)
    assert postcode_tokens(values) >= {"1012nx", "3511ab"}
    assert postcode_tokens(set()) == set()


NUMBER_LIKE = st.text(
    alphabet=st.sampled_from(list("0000123456789 -_.aZ\u0660\u0661\u00b2é")), max_size=16
)


@settings(max_examples=300, deadline=None)
@given(values=st.sets(st.one_of(NUMBER_LIKE, st.text(max_size=12)), max_size=30))
def test_number_tokens_are_the_tokens_and_their_forms_without_zeros(values: set[str]) -> None:
    """Decision 0895: the forms without leading zeros taken in Arrow, the same set."""
    assert number_tokens(values, VOCABULARY) == number_tokens_reference(values, VOCABULARY)


def test_number_token_edges() -> None:
    values = {
        "0012345678",  # stripped: 12345678
        "000012345",  # stripped 12345: shorter than six digits, not added
        "MRN_0001234567",
        "00000000",  # all zeros: "" is not added
        "\u0660\u0660123456",  # Arabic-Indic zeros: the reference's isdigit, not stripped
        "01234567 0765432",
        "1234567",  # in the vocabulary
        "01234567",  # stripped to the vocabulary's word: still searched (as before)
    }
    got = number_tokens(values, VOCABULARY)
    assert got == number_tokens_reference(values, VOCABULARY)
    assert {"0012345678", "12345678", "0001234567", "1234567", "765432"} <= got
    assert "12345" not in got and "" not in got
