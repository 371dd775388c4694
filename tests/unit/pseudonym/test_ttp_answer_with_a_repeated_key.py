"""A TTP answer with a key twice in one object is refused, not read with its last copy (0801).

``{"pseudonyms": [...], "pseudonyms": [...]}``: which list the hospital would use
must not depend on the JSON reader.
"""

from __future__ import annotations

import pytest

from aanlevering.errors import TTPError
from aanlevering.pseudonym.ttp.transport import _json


def test_an_answer_repeating_a_key_is_refused() -> None:
    assert _json(b'{"pseudonyms": ["a"], "count": 1}', "batch") == {
        "pseudonyms": ["a"],
        "count": 1,
    }
    with pytest.raises(TTPError, match="TTP batch: the answer is not JSON or repeats a key"):
        _json(b'{"pseudonyms": ["a"], "pseudonyms": ["b"]}', "batch")
