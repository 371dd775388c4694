"""JSON string literals of a column are ``encode_basestring`` of each value.

The column path quotes plain text in Arrow and escapes in Python only the
values that need it (quotes, backslashes, control characters); pinned here to
the straightforward per-value encoding, nulls included.
"""

from __future__ import annotations

from json.encoder import encode_basestring

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.output.values import _json_strings

_AWKWARD = st.text(alphabet=st.sampled_from(list('ab "\\/\n\t\x00\x1f\x7f\u2028é€😀')), max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(), _AWKWARD), max_size=20))
def test_json_strings_are_encode_basestring_of_each_value(values: list[str | None]) -> None:
    expected = [None if v is None else encode_basestring(v) for v in values]
    assert _json_strings(pa.array(values, pa.string())).to_pylist() == expected


def test_plain_and_sliced_columns() -> None:
    column = pa.array(["x", 'say "hi"', None, "plain", "a\\b"], pa.string()).slice(1)
    assert _json_strings(column).to_pylist() == ['"say \\"hi\\""', None, '"plain"', '"a\\\\b"']
    assert _json_strings(pa.array(["één", ""], pa.string())).to_pylist() == ['"één"', '""']
