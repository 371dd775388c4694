"""Key versions of the TTP's labels: the one-header path is the regular-expression path.

``_label_versions`` checks with a prefix test that every label of a column has
the header of the first (the usual case) instead of cutting each label by a
regular expression; for any column both give the same versions, the same
temporary flag and the same error.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from aanlevering.pseudonym.crypto import TEMPORARY_MARKER
from aanlevering.pseudonym.service import _label_versions, _label_versions_by_regex

T = TEMPORARY_MARKER
HEADS = [f"{T}:NGGV:v1:", f"{T}:NGGV:v2:", f"{T}:NGGV:v10:", "NGGV:v1:", f"{T}:sNGG:v1:"]
HEADS += ["MRN:v1:", "MRN:v3:", f"{T}:MRN:v1:", "NGGV:v0:", "XX:v1:", ""]
PAYLOADS = ["AAAA", "b-_9", "Zm9v", "", "a:b", "!!", "é"]


def _outcome(fn, code: str, labels: pa.Array) -> object:  # type: ignore[no-untyped-def]
    try:
        versions, temporary = fn(code, labels)
    except Exception as error:  # the same error, by type and message
        return (type(error).__name__, str(error))
    return (versions.to_pylist(), temporary)


@pytest.mark.parametrize("seed", range(300))
def test_one_header_path_equals_the_regex_path(seed: int) -> None:
    rng = random.Random(seed)
    code = rng.choice(["NGGV", "MRN", "sNGG"])
    heads = [rng.choice(HEADS)] if rng.random() < 0.7 else rng.sample(HEADS, 2)
    labels = [
        None
        if rng.random() < 0.1
        else rng.choice(heads) + (rng.choice(PAYLOADS) if rng.random() < 0.2 else "QUJD")
        for _ in range(rng.randint(0, 12))
    ]
    column = pa.array(labels, pa.string())
    assert _outcome(_label_versions, code, column) == _outcome(
        _label_versions_by_regex, code, column
    )


def test_the_usual_column_takes_the_one_header_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from aanlevering.pseudonym import service

    def unused(code: str, labels: pa.Array) -> None:
        raise AssertionError("the regular-expression path ran")

    monkeypatch.setattr(service, "_label_versions_by_regex", unused)
    labels = pa.array([f"{T}:NGGV:v2:QUJD", None, f"{T}:NGGV:v2:Zm9v"], pa.string())
    versions, temporary = service._label_versions("NGGV", labels)
    assert versions.to_pylist() == [2, None, 2]
    assert temporary is True


def test_id_column_is_the_text_of_each_patient_id() -> None:
    """What ``pa.array([str(p) for p in ids])`` gave, for text, chunked and integer ids."""
    from aanlevering.pseudonym.service import _id_column

    cases = [
        pa.array(["a", "0012", "é", ""], pa.string()),
        pa.array(["x", "y"], pa.large_string()),
        pa.chunked_array([["p1"], ["p2", "p3"]], pa.string()),
        pa.array([12, 7, 123456789], pa.int64()),
    ]
    for ids in cases:
        got = _id_column(ids)
        assert got.type == pa.string()
        assert got.to_pylist() == [str(p) for p in ids.to_pylist()]
