"""The identifier guard catches BSN-shaped strings and leaves ordinary values alone."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from aanlevering.errors import EventStoreError
from aanlevering.events.guard import check_no_identifiers, contains_probable_bsn, passes_elfproef


@pytest.mark.parametrize("digits", ["123456782", "111222333", "999999990"])
def test_numbers_passing_the_eleven_test(digits: str) -> None:
    assert passes_elfproef(digits)


@pytest.mark.parametrize(
    "digits", ["123456789", "000000000", "12345678", "1234567820", "12345678a"]
)
def test_numbers_failing_the_eleven_test(digits: str) -> None:
    assert not passes_elfproef(digits)


@pytest.mark.parametrize(
    "text",
    [
        "123456782",
        "1234.56.782",
        "BSN 123456782",
        "extract_123456782.csv",
        "patient-123456782",
        "123456782.",
    ],
)
def test_bsn_shaped_tokens_are_found(text: str) -> None:
    assert contains_probable_bsn(text)


@pytest.mark.parametrize(
    "text",
    [
        "123456789",  # fails the eleven-test
        "1123456782",  # ten digits
        "a123456782",  # part of a word or hex string
        "0.123456782",  # the fraction of a decimal
        "123456782.5",
        "2026-03-01T10:00:00+00:00",
        "pr_0123456782abcdef0123456782abcdef",
    ],
)
def test_ordinary_values_are_not_flagged(text: str) -> None:
    assert not contains_probable_bsn(text)


def test_hashes_and_uuids_do_not_trip_the_guard() -> None:
    for i in range(2000):
        check_no_identifiers(hashlib.sha256(str(i).encode()).hexdigest(), "checksum")
        check_no_identifiers(str(uuid.uuid5(uuid.NAMESPACE_URL, str(i))), "id")


def test_the_path_to_the_value_is_named_in_nested_structures() -> None:
    payload = {"files": [{"name": "a.csv"}, {"name": "b_123456782.csv"}]}
    with pytest.raises(EventStoreError, match=r"ev\.files\[1\]\.name: refused") as refused:
        check_no_identifiers(payload, "ev")
    assert "123456782" not in str(refused.value)


def test_a_bsn_as_a_mapping_key_is_refused() -> None:
    with pytest.raises(EventStoreError, match=r"ev \(key\)") as refused:
        check_no_identifiers({"123456782": 1}, "ev")
    assert "123456782" not in str(refused.value)


def test_integers_are_not_checked() -> None:
    check_no_identifiers({"size_bytes": 123456782}, "ev")
