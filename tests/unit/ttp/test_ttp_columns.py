"""The column form of temporary pseudonyms, without HTTP: TTP side pinned to the record form,
refusals of its own, and the hospital's checks of a column answer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.counterparts.ttp.config import TTPConfig, load_config
from aanlevering.counterparts.ttp.demo_config import DemoRegistration, write_demo_config
from aanlevering.counterparts.ttp.keys import KeyRing
from aanlevering.counterparts.ttp.pseudonyms import issue_temporaries, issue_temporary_columns
from aanlevering.counterparts.ttp.refusal import Refusal
from aanlevering.errors import TTPError
from aanlevering.pseudonym.crypto import b64url_encode
from aanlevering.pseudonym.ttp.columns import batch_body, joined, read_answer


@dataclass(frozen=True)
class Inputs:
    ref: str
    digests: dict[str, str]
    mrn_ciphertext: str | None = None


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> TTPConfig:
    setup = write_demo_config(
        tmp_path_factory.mktemp("ttp-columns"),
        registrations=[DemoRegistration("reg-a", "holder-a", ("NGGV", "C", "MRN"))],
    )
    return load_config(setup.config)


@pytest.fixture(scope="module")
def keyring(config: TTPConfig) -> KeyRing:
    return KeyRing(config)


def _issue(config: TTPConfig, keyring: KeyRing, people: list[Inputs]) -> dict[str, list[Any]]:
    digests = {}
    for code in ("NGGV", "C"):
        column = [p.digests.get(code) for p in people]
        if any(column):
            missing = [i for i, v in enumerate(column) if v is None]
            digests[code] = ("".join(v for v in column if v), missing)
    mrn = [p.mrn_ciphertext for p in people]
    return issue_temporary_columns(
        config.registrations["reg-a"],
        keyring.active("reg-a"),
        "h1",
        count=len(people),
        digests=digests,
        mrn_ciphertexts=mrn if any(mrn) else None,
    )


row = st.tuples(st.booleans(), st.booleans(), st.booleans()).filter(any)


@settings(max_examples=60, deadline=None)
@given(st.lists(row, min_size=1, max_size=12), st.integers(0, 10**6))
def test_column_payloads_are_the_record_labels(
    config: TTPConfig, keyring: KeyRing, rows: list[tuple[bool, bool, bool]], seed: int
) -> None:
    people = []
    for i, (nggv, c, mrn) in enumerate(rows):
        digests = {}
        if nggv:
            digests["NGGV"] = hashlib.sha256(f"N{seed}-{i}".encode()).hexdigest()
        if c:
            digests["C"] = hashlib.sha256(f"C{seed}-{i}".encode()).hexdigest()
        token = b64url_encode(hashlib.sha512(f"M{seed}-{i}".encode()).digest()[:48])
        people.append(Inputs(f"r{i}", digests, token if mrn else None))
    records = issue_temporaries(
        config.registrations["reg-a"], keyring.active("reg-a"), "h1", people
    )
    payloads = _issue(config, keyring, people)
    for code, column in payloads.items():
        for record, payload in zip(records, column, strict=True):
            label = record["pseudonyms"].get(code)  # type: ignore[attr-defined]
            assert (label.rsplit(":", 1)[1] if label else None) == payload
    for record in records:
        assert set(record["pseudonyms"]) <= set(payloads)  # type: ignore[call-overload]


def test_column_refusals(config: TTPConfig, keyring: KeyRing) -> None:
    registration, keys = config.registrations["reg-a"], keyring.active("reg-a")
    hexed = "ab" * 32

    def refused(**kwargs: Any) -> str:
        with pytest.raises(Refusal) as caught:
            issue_temporary_columns(registration, keys, "h1", **kwargs)
        return caught.value.code

    assert refused(count=1, digests={"MRN": (hexed, [])}, mrn_ciphertexts=None) == "mrn_as_digest"
    assert (
        refused(count=2, digests={"NGGV": (hexed, [5])}, mrn_ciphertexts=None)
        == "invalid_missing_rows"
    )
    assert (
        refused(count=3, digests={"NGGV": (hexed, [1, 1])}, mrn_ciphertexts=None)
        == "invalid_missing_rows"
    )
    assert refused(count=2, digests={"NGGV": (hexed, [])}, mrn_ciphertexts=None) == (
        "invalid_digest"
    )
    assert (
        refused(count=2, digests={"NGGV": (hexed * 2, [])}, mrn_ciphertexts=["x"])
        == "invalid_mrn_ciphertext"
    )


def _body() -> dict[str, Any]:
    return batch_body(
        "reg-a",
        "run:reg-a:temporary:00000",
        profile_version="nl-2026.1",
        source_key={"version": 1, "check_value": "0" * 16},
        digests={"NGGV": pa.array(["ab" * 32, None, "cd" * 32])},
        mrn=pa.array([TOK1, TOK2, None]),
    )


#: Payloads and MRN ciphertexts of the lengths AES-SIV gives (decision 0440).
A, B, C, D = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)
TOK1, TOK2 = ("t" * 43, "u" * 43)  # 32 bytes: sealed with its 16-byte tag, 64 characters


def _answer(**changes: Any) -> dict[str, Any]:
    answer = {
        "registration": "reg-a",
        "request_id": "run:reg-a:temporary:00000",
        "batch_id": "ttp-1",
        "key_version": 1,
        "record_count": 3,
        "payloads": {"NGGV": [A, None, B], "MRN": [C, D, None]},
    }
    answer.update(changes)
    return answer


def test_batch_body_is_one_string_per_type() -> None:
    body = _body()
    assert body["count"] == 3
    assert body["types"] == {"NGGV": {"digests": "ab" * 32 + "cd" * 32, "missing": [1]}}
    assert body["mrn_ciphertexts"] == [TOK1, TOK2, None]
    assert joined(pa.array(["a", None, "bc"]).slice(1)) == "bc"


#: The MRN ciphertexts sent, as the client holds them: read_answer takes them or the body's list.
MRN_SENT = [None, pa.array([None, TOK1, TOK2, None]).slice(1)]


@pytest.mark.parametrize("mrn_sent", MRN_SENT, ids=["body-list", "arrow-column"])
def test_a_good_answer_becomes_label_columns(mrn_sent: pa.Array | None) -> None:
    labels, version = read_answer(
        "reg-a", "run:reg-a:temporary:00000", _body(), _answer(), mrn_sent=mrn_sent
    )
    assert version == 1
    assert labels["NGGV"].to_pylist() == ["T1:NGGV:v1:" + A, None, "T1:NGGV:v1:" + B]
    assert labels["MRN"].to_pylist() == ["MRN:v1:" + C, "MRN:v1:" + D, None]


@pytest.mark.parametrize(
    "changes",
    [
        {"record_count": 2},
        {"request_id": "other"},
        {"key_version": 0},
        {"key_version": "1"},
        {"payloads": {"NGGV": [A, None, B]}},
        {"payloads": {"NGGV": [A, "x", B], "MRN": [C, D, None]}},
        {"payloads": {"NGGV": [A, None], "MRN": [C, D, None]}},
        {"payloads": {"NGGV": ["aa:a" + A[4:], None, B], "MRN": [C, D, None]}},
        {"payloads": {"NGGV": ["", None, B], "MRN": [C, D, None]}},
        {"payloads": {"NGGV": [1, None, 2], "MRN": [C, D, None]}},
        {"payloads": {"NGGV": [A, None, B], "MRN": [C, D, "e" * 64]}},
        # decision 0440: another registration, payloads of another length than sealed
        {"registration": "reg-b"},
        {"batch_id": None},
        {"batch_id": ""},
        {"registration": None},
        {"payloads": {"NGGV": [A, None, B[1:]], "MRN": [C, D, None]}},
        {"payloads": {"NGGV": [A, None, B + "b"], "MRN": [C, D, None]}},
        {"payloads": {"NGGV": [A, None, "123456782"], "MRN": [C, D, None]}},
        {"payloads": {"NGGV": [A, None, B], "MRN": [C, D[:43], None]}},
        {"payloads": None},
    ],
)
@pytest.mark.parametrize("mrn_sent", MRN_SENT, ids=["body-list", "arrow-column"])
def test_a_wrong_answer_is_refused_whole(
    changes: dict[str, Any], mrn_sent: pa.Array | None
) -> None:
    with pytest.raises(TTPError):
        read_answer(
            "reg-a",
            "run:reg-a:temporary:00000",
            _body(),
            _answer(**changes),
            mrn_sent=mrn_sent,
        )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from([33, 47, 48, 64, 80, 95, 96])), min_size=1, max_size=16
    ),
    st.integers(0, 10**6),
)
def test_mrn_payloads_of_every_length_are_the_record_labels(
    config: TTPConfig, keyring: KeyRing, lengths: list[int | None], seed: int
) -> None:
    """MRN ciphertexts wrapped a length at a time (decision 0301) equal one wrap per record."""
    people = [
        Inputs(
            f"r{i}",
            {"NGGV": hashlib.sha256(f"N{seed}-{i}".encode()).hexdigest()},
            None
            if size is None
            else b64url_encode((hashlib.sha512(f"M{seed}-{i}".encode()).digest() * 2)[:size]),
        )
        for i, size in enumerate(lengths)
    ]
    records = issue_temporaries(
        config.registrations["reg-a"], keyring.active("reg-a"), "h1", people
    )
    payloads = _issue(config, keyring, people)
    if "MRN" not in payloads:
        assert all(size is None for size in lengths)
        return
    for record, payload in zip(records, payloads["MRN"], strict=True):
        label = record["pseudonyms"].get("MRN")  # type: ignore[attr-defined]
        assert (label.rsplit(":", 1)[1] if label else None) == payload
