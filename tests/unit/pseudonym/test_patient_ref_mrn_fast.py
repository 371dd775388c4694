"""The quick MRN references (one and in bulk) equal the full normalise-then-hash path."""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import string

import pyarrow as pa
import pytest

from aanlevering.errors import AanleveringError
from aanlevering.pseudonym.normalise.mrn import normalise_mrn
from aanlevering.pseudonym.patient_ref import PatientRefHasher

KEY = bytes(range(32))
#: References stored in event logs must never change for a key: these were made
#: before the quick path used ``cryptography``'s HMAC and must stay as they are.
PINNED = {
    KEY: "pr_8a3ec9090589f36e3223e0b6df9b59dc pr_07d1495d76fcdac900514fb1b481c253",
    b"k" * 16: "pr_101a60ff07f70787a0717a54798425d3 pr_6dedddcafcd58dcaa2a61ad6f47d31c6",
    bytes(range(80)): "pr_7872342390569a381b90d36428438d67 pr_5df2fc3028d43aba2f90cd149b71521e",
}


def _slow(hasher: PatientRefHasher, mrn: str) -> str:
    return hasher.ref(normalise_mrn(mrn), scheme="mrn")


def _mrns() -> list[str]:
    rng = random.Random(11)
    alphabet = string.ascii_letters + string.digits + "_-./ "
    shapes = ["".join(rng.choices(alphabet, k=rng.randint(1, 70))) for _ in range(3000)] + [
        f"{rng.randint(0, 10**9):010d}" for _ in range(1000)
    ]
    return [*shapes, "MRN0012345", " mrn-001 ", "A" * 64, "A" * 65, "Ä123", "x y", "  "]


@pytest.mark.parametrize("key", [KEY, KEY[:16], bytes(range(80))])  # 80: longer than a block
def test_same_reference_or_same_refusal_as_the_full_path(key: bytes) -> None:
    hasher = PatientRefHasher(key)
    plain = 0
    for mrn in _mrns():
        try:
            expected = _slow(hasher, mrn)
        except AanleveringError as error:
            with pytest.raises(type(error)):
                hasher.mrn_ref(mrn)
            continue
        assert hasher.mrn_ref(mrn) == expected, "differs for a generated MRN"
        plain += re.fullmatch(r"[A-Z0-9_]{1,64}", mrn) is not None
    assert plain > 100  # the quick path was taken often


@pytest.mark.parametrize("key", [KEY, KEY[:16], bytes(range(80))])
def test_bulk_references_equal_one_by_one_with_null_for_refused_and_missing(key: bytes) -> None:
    hasher = PatientRefHasher(key)
    mrns: list[str | None] = [*_mrns(), None, "", "A\n", "\nA", "MRN0012345"]
    expected: list[str | None] = []
    for mrn in mrns:
        try:
            expected.append(None if mrn is None else hasher.mrn_ref(mrn))
        except AanleveringError:
            expected.append(None)
    assert expected.count(None) > 10 and len(set(expected)) > 1000
    got = hasher.mrn_refs(pa.array(mrns, pa.string()))
    assert got.type == pa.string()
    assert got.to_pylist() == expected
    plain = [m for m in mrns if m is not None and re.fullmatch(r"[A-Z0-9_]{1,64}", m)]
    assert hasher.mrn_refs(pa.array(plain, pa.string())).to_pylist() == [
        hasher.mrn_ref(m) for m in plain
    ]  # the all-canonical shortcut
    assert hasher.mrn_refs(pa.array([], pa.string())).to_pylist() == []


def _stdlib_ref(key: bytes, mrn: str) -> str:
    message = b"aanlevering/patient-ref/v1\x00mrn\x00" + mrn.encode()
    return "pr_" + hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


@pytest.mark.parametrize("key", list(PINNED))
def test_quick_references_are_the_stdlib_hmac_and_the_pinned_values(key: bytes) -> None:
    hasher = PatientRefHasher(key)
    mrns = ["MRN0012345", "0000001", *(f"P{i:09d}" for i in range(200))]
    expected = [_stdlib_ref(key, mrn) for mrn in mrns]
    assert [hasher.mrn_ref(mrn) for mrn in mrns] == expected
    assert hasher.mrn_refs(pa.array(mrns, pa.string())).to_pylist() == expected
    assert expected[:2] == PINNED[key].split()
    assert hasher.mrn_ref(" mrn0012345 ") == expected[0]  # the full path: normalised first
