"""Wire forms shared by hospital and TTP: labels, base64url, source digests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aanlevering.pseudonym.crypto import (
    LabelError,
    b64url_decode,
    b64url_encode,
    format_label,
    parse_label,
    pseudonym_type,
    source_digest_bytes,
)
from aanlevering.pseudonym_types import PseudonymType


@given(st.binary(min_size=1, max_size=80))
def test_b64url_round_trips_without_padding(raw: bytes) -> None:
    text = b64url_encode(raw)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64url_decode(text) == raw


@pytest.mark.parametrize("text", ["", "ab=c", "a+b", "a/b", "a"])
def test_b64url_decode_refuses_other_forms(text: str) -> None:
    with pytest.raises(ValueError):
        b64url_decode(text)


@given(
    st.sampled_from(["temporary", "definitive"]),
    st.sampled_from([t for t in PseudonymType if t is not PseudonymType.MRN]),
    st.integers(min_value=1, max_value=999),
    st.binary(min_size=1, max_size=64),
)
def test_labels_round_trip(kind: str, ptype: PseudonymType, version: int, payload: bytes) -> None:
    label = format_label(kind, ptype, version, payload)  # type: ignore[arg-type]
    parsed = parse_label(label)
    assert (parsed.kind, parsed.type, parsed.version, parsed.payload) == (
        kind,
        ptype,
        version,
        payload,
    )
    assert str(parsed) == label


def test_label_forms() -> None:
    assert format_label("temporary", PseudonymType.SNGGV, 2, b"\x00").startswith("T1:sNGGV:v2:")
    assert format_label("definitive", PseudonymType.GG, 1, b"\x00").startswith("GG:v1:")
    assert parse_label("MRN:v3:AAAA").kind == "mrn"


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ("NGGV:1:AAAA", "v<number>"),
        ("NGGV:v0:AAAA", "at least 1"),
        ("XYZ:v1:AAAA", "unknown pseudonym type 'XYZ'"),
        ("T1:MRN:v1:AAAA", "no temporary form"),
        ("NGGV:v1:AA=A", "base64url"),
        ("just-text", "expected"),
        ("T2:NGGV:v1:AAAA", "expected"),
    ],
)
def test_malformed_labels_are_explained(label: str, problem: str) -> None:
    with pytest.raises(LabelError, match=problem):
        parse_label(label)


def test_unknown_type_message_never_repeats_something_that_looks_like_an_identifier() -> None:
    with pytest.raises(ValueError) as error:
        pseudonym_type("123456782")
    assert "123456782" not in str(error.value)
    assert "NGGV" in str(error.value)


def test_source_digest_must_be_64_lowercase_hex() -> None:
    good = "ab" * 32
    assert source_digest_bytes(good) == bytes.fromhex(good)
    for bad in ["AB" * 32, "ab" * 31, "ab" * 33, "zz" * 32, "ab " * 21 + "a"]:
        with pytest.raises(ValueError, match="64 lowercase"):
            source_digest_bytes(bad)
