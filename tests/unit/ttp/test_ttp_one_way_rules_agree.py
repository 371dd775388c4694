"""The one-way check per value and per column apply the same rules (decision 1021).

Local mode asks :func:`is_one_way` per value, the record and column forms ask
:func:`not_one_way_rows` per column; a digest refused by one and passed by the
other would make the TTP's answer depend on the form of the request.
"""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.counterparts.ttp.one_way import DIGEST_BYTES, is_one_way, not_one_way_rows

#: Digests near each rule's edge: decimal hex, runs of zero bytes, printable text.
_EDGES = st.one_of(
    st.binary(min_size=DIGEST_BYTES, max_size=DIGEST_BYTES),
    st.lists(
        st.sampled_from([0x00, 0x12, 0x99, 0x20, 0x7E, 0x7F, 0xFF]), min_size=32, max_size=32
    ).map(bytes),
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=24, max_size=32
    ).map(lambda text: text.encode("ascii").ljust(DIGEST_BYTES, b"\0")),
    st.integers(min_value=0, max_value=10**30).map(lambda n: n.to_bytes(DIGEST_BYTES, "big")),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_EDGES, min_size=1, max_size=20))
def test_per_value_and_per_column_refuse_the_same_digests(digests: list[bytes]) -> None:
    refused_by_column = set(not_one_way_rows(b"".join(digests)))
    refused_per_value = {row for row, digest in enumerate(digests) if not is_one_way(digest)}
    assert refused_per_value == refused_by_column


def test_true_hmac_digests_pass_and_identifiers_in_hex_do_not() -> None:
    key = b"k" * 32
    digests = [hmac.new(key, str(n).encode(), hashlib.sha256).digest() for n in range(2000)]
    assert not_one_way_rows(b"".join(digests)) == []
    assert all(is_one_way(d) for d in digests)
    bsn = bytes.fromhex("123456782".rjust(64, "0"))
    assert not is_one_way(bsn)
    assert not_one_way_rows(bsn) == [0]
