"""The one label check: fast for known heads, never fooled by them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aanlevering.errors import TTPError
from aanlevering.pseudonym.ttp.answers import LabelCheck, check_refs

PAYLOAD = "A" * 43

Check = Callable[..., dict[str, Any]]


def temporary(version: int = 1) -> Check:
    return LabelCheck("reg", "run:reg:temporary:00000", kind="temporary", version=version).check


def test_a_good_answer_passes_and_is_returned_unchanged() -> None:
    check = temporary()
    for n in range(3):
        labels = {"NGGV": f"T1:NGGV:v1:{PAYLOAD}{n}", "MRN": f"MRN:v1:{PAYLOAD}{n}"}
        assert check(labels, {"NGGV": "digest"}, "MRN") is labels


def test_a_known_head_under_another_type_is_refused() -> None:
    check = temporary()
    check({"NGGV": f"T1:NGGV:v1:{PAYLOAD}"}, {"NGGV": "d"})
    with pytest.raises(TTPError, match="RGG label is a temporary NGGV pseudonym"):
        check({"RGG": f"T1:NGGV:v1:{PAYLOAD}"}, {"RGG": "d"})


def test_empty_or_broken_payloads_behind_a_known_head_are_refused() -> None:
    check = temporary()
    check({"NGGV": f"T1:NGGV:v1:{PAYLOAD}"}, {"NGGV": "d"})
    for bad in ("T1:NGGV:v1:", "T1:NGGV:v1", "NGGV", 7, None):
        with pytest.raises(TTPError, match="malformed NGGV label"):
            check({"NGGV": bad}, {"NGGV": "d"})


def test_types_must_be_exactly_those_asked_for() -> None:
    check = temporary()
    good = f"T1:NGGV:v1:{PAYLOAD}"
    with pytest.raises(TTPError, match=r"has types \['NGGV'\], expected \['MRN', 'NGGV'\]"):
        check({"NGGV": good}, {"NGGV": "d"}, "MRN")
    with pytest.raises(TTPError, match=r"has types \[\], expected \['NGGV'\]"):
        check(["not", "a", "dict"], {"NGGV": "d"})
    # The extra type counted twice is not a shortcut past the exact comparison.
    assert check({"MRN": f"MRN:v1:{PAYLOAD}"}, {"MRN": "d"}, "MRN") == {"MRN": f"MRN:v1:{PAYLOAD}"}


def test_kind_and_version_are_checked_once_per_head() -> None:
    with pytest.raises(TTPError, match="key version 1, expected 2"):
        temporary(version=2)({"NGGV": f"T1:NGGV:v1:{PAYLOAD}"}, {"NGGV": "d"})
    with pytest.raises(TTPError, match="definitive NGGV pseudonym, expected temporary"):
        temporary()({"NGGV": f"NGGV:v1:{PAYLOAD}"}, {"NGGV": "d"})


def test_without_a_target_version_mixed_versions_pass_but_not_the_wrong_kind() -> None:
    check = LabelCheck("reg", "run:reg:exchange:00000", kind="definitive", version=None).check
    for version in (1, 2, 1, 2):
        labels = {"NGGV": f"NGGV:v{version}:{PAYLOAD}", "MRN": f"MRN:v{version}:{PAYLOAD}"}
        assert check(labels, {"NGGV": "x", "MRN": "x"}) == labels
    with pytest.raises(TTPError, match="temporary NGGV pseudonym, expected definitive"):
        check({"NGGV": f"T1:NGGV:v1:{PAYLOAD}"}, {"NGGV": "x"})


def test_refs_must_be_exactly_those_sent() -> None:
    records = [{"ref": "b"}, {"ref": "a"}]
    assert check_refs("reg", "q", ["a", "b"], records) is records
    with pytest.raises(TTPError, match="2 records for 2 sent, 1 missing, 1 unexpected"):
        check_refs("reg", "q", ["a", "c"], records)
    with pytest.raises(TTPError, match="no records list"):
        check_refs("reg", "q", ["a"], {"ref": "a"})
