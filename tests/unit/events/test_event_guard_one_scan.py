"""The one-scan guard of an appended event refuses exactly what the value-by-value walk refuses.

Decision 1040: ``prepare_batch`` scans an event's canonical JSON text once and
walks the payload only when that text holds a backslash or a BSN-like token.
That is safe only if every BSN the walk finds is found in the text; these tests
compare the two on generated payloads (strings of digits, dots, commas, letters,
quotes, backslashes, line breaks and non-ASCII around real BSNs; integers; keys)
and on the edge cases of the argument, and pin that the error still names the
place and never the value.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.errors import EventStoreError
from aanlevering.events.codec import canonical_json
from aanlevering.events.guard import check_encoded_payload, check_no_identifiers

#: Numbers passing the eleven-test, and near misses.
BSNS = ("123456782", "111222333", "1234.56.782", "999999990")
NEAR = ("123456781", "12345678", "1234567820", "0.123456782", "12345678,2")

_pieces = st.one_of(
    st.sampled_from(BSNS + NEAR),
    st.text(alphabet='0123456789.,aZ -"\\\n\t\u00e9\u2028/:', max_size=12),
)
_text = st.lists(_pieces, max_size=4).map("".join)
_scalar = st.one_of(
    _text,
    st.integers(min_value=0, max_value=10**10),
    st.booleans(),
    st.none(),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(_text, inner, max_size=3),
    ),
    max_leaves=12,
)
_payload = st.dictionaries(_text, _value, max_size=4)


def _walk(payload: dict[str, Any]) -> str | None:
    try:
        check_no_identifiers(payload, "Event")
    except EventStoreError as error:
        return str(error)
    return None


def _one_scan(payload: dict[str, Any]) -> str | None:
    try:
        check_encoded_payload(payload, canonical_json(payload), "Event")
    except EventStoreError as error:
        return str(error)
    return None


@settings(max_examples=1500, deadline=None)
@given(_payload)
def test_the_one_scan_refuses_what_the_walk_refuses(payload: dict[str, Any]) -> None:
    assert _one_scan(payload) == _walk(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"note": "123456782"},
        {"note": "zie 1234.56.782."},
        {"note": "regel\n123456782"},  # after a line break: JSON writes it as \n
        {"note": 'quote"123456782'},  # after a quote: JSON writes it as \"
        {"note": "tab\t123456782"},
        {"note": "back\\123456782"},
        {"123456782": "a key"},
        {"refs": ["pr_ab", "123456782"]},
        {"nested": {"deeper": [{"x": "é123456782é"}]}},
    ],
)
def test_a_bsn_anywhere_is_refused_with_its_place_and_never_its_value(
    payload: dict[str, Any],
) -> None:
    with pytest.raises(EventStoreError, match="looks like a BSN") as raised:
        check_encoded_payload(payload, canonical_json(payload), "Event")
    assert "123456782" not in str(raised.value)
    assert "1234.56.782" not in str(raised.value)
    assert str(raised.value) == _walk(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"bytes": 123456782},  # an integer: counts and sizes are not checked
        {"digest": "a123456782b"},  # inside a hex string
        {"fraction": "0.123456782"},
        {"ref": "pr_" + "0123456789abcdef" * 2},
        {"text": "line\none"},  # a backslash in the text, nothing to find
    ],
)
def test_what_the_walk_lets_pass_still_passes(payload: dict[str, Any]) -> None:
    check_encoded_payload(payload, canonical_json(payload), "Event")
    assert _walk(payload) is None
