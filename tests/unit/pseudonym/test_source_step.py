"""The first one-way step: fixed-key vectors, key handling, MRN round trip, nothing in the clear."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from aanlevering.errors import ConfigError, PseudonymisationError
from aanlevering.pseudonym.identifiers import PersonIdentifiers
from aanlevering.pseudonym.normalise import get_profile
from aanlevering.pseudonym.source_step import (
    MrnKey,
    SourceKey,
    apply_source_step,
    encrypt_mrn,
    encrypt_mrn_column,
    hash_canonical,
    hash_column,
    load_mrn_key,
    load_source_key,
    new_key_json,
    reveal_mrn,
)
from aanlevering.pseudonym_types import PseudonymType as T
from support.pseudonyms import pseudonymise_person, reveal_mrn_column

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "source_step.json").read_text("utf-8")
)
PROFILE = VECTORS["profile"]
SOURCE_KEYS = {
    k["version"]: SourceKey(k["registration"], k["version"], base64.b64decode(k["secret"]))
    for k in VECTORS["source_keys"]
}
MRN_KEY = MrnKey(VECTORS["mrn_key"]["version"], base64.b64decode(VECTORS["mrn_key"]["secret"]))
REGISTRATION = "test-registration"


@pytest.mark.parametrize(
    "vector", VECTORS["hmac"], ids=[f"{v['type']}-v{v['key_version']}" for v in VECTORS["hmac"]]
)
def test_hmac_digest_matches_openssl_vector(vector: dict[str, Any]) -> None:
    key = SOURCE_KEYS[vector["key_version"]]
    digest = hash_canonical(key, PROFILE, T(vector["type"]), vector["canonical"])
    assert digest == vector["digest"]


def test_every_hashed_type_has_a_vector_for_two_key_versions() -> None:
    covered = {(v["type"], v["key_version"]) for v in VECTORS["hmac"]}
    hashed = {t.value for t in T} - {"MRN"}
    assert covered == {(t, version) for t in hashed for version in (1, 2)}


@pytest.mark.parametrize("vector", VECTORS["mrn"], ids=lambda v: f"{v['registration']}")
def test_mrn_token_matches_vector_and_reveals(vector: dict[str, Any]) -> None:
    token = encrypt_mrn(MRN_KEY, vector["registration"], vector["profile"], vector["canonical"])
    assert token == vector["token"]
    assert (
        reveal_mrn(MRN_KEY, vector["registration"], vector["profile"], token)
        == (vector["canonical"])
    )


def test_source_step_of_golden_person_end_to_end() -> None:
    """Person as exported -> canonical (canonical.json) -> digest (source_step.json)."""
    person = PersonIdentifiers(
        bsn="111222333",
        mrn="0012345",
        own_name="Jansen",
        initials="J.",
        birth_date="1980-01-31",
        sex="M",
        postcode="1012 NX",
        house_number="12",
    )
    profile = get_profile(PROFILE)
    normalised = profile.normalise(person, list(T))
    pseudonyms = pseudonymise_person(normalised.canonical, PROFILE, SOURCE_KEYS[1], MRN_KEY)

    expected = {v["type"]: v["digest"] for v in VECTORS["hmac"] if v["key_version"] == 1}
    assert {str(t): p.value for t, p in pseudonyms.items() if t is not T.MRN} == expected
    assert pseudonyms[T.MRN].value == VECTORS["mrn"][0]["token"]
    assert all(p.profile_version == PROFILE for p in pseudonyms.values())
    assert all(p.registration == REGISTRATION for p in pseudonyms.values())
    assert {p.key_version for p in pseudonyms.values()} == {1}


def test_key_rotation_changes_every_digest() -> None:
    canonical = [v["canonical"] for v in VECTORS["hmac"] if v["type"] == "NGG"]
    v1 = hash_column(SOURCE_KEYS[1], PROFILE, T.NGG, canonical)
    v2 = hash_column(SOURCE_KEYS[2], PROFILE, T.NGG, canonical)
    assert v1 != v2


def test_type_and_profile_version_separate_equal_inputs() -> None:
    """GG and an equal-looking input of another type, or another profile, never share a digest."""
    key = SOURCE_KEYS[1]
    gg = hash_canonical(key, PROFILE, T.GG, "19800131|M")
    assert gg != hash_canonical(key, PROFILE, T.C, "19800131|M")
    assert gg != hash_canonical(key, "nl-2027.1", T.GG, "19800131|M")


def test_batch_source_step_keeps_failed_rows_empty_and_labels_versions() -> None:
    profile = get_profile(PROFILE)
    columns = {
        "own_name": ["Jansen", "Visser", None],
        "initials": ["J.", "M.", "P."],
        "birth_date": ["1980-01-31", "31-02-1980", "1990-05-05"],
        "sex": ["M", "M", "V"],
        "mrn": ["0012345", "0099", None],
        "patient_id": [None, None, "X-77"],
    }
    canonical = profile.normalise_columns(columns, ["NGGV", "MRN"])
    batch = apply_source_step(canonical, SOURCE_KEYS[2], MRN_KEY)

    assert batch.registration == REGISTRATION
    assert batch.profile_version == PROFILE
    assert batch.key_versions == {T.NGGV: 2, T.MRN: 1}
    nggv = batch.values[T.NGGV]
    assert nggv[0] == hash_canonical(SOURCE_KEYS[2], PROFILE, T.NGGV, "JANSEN##|19800131|M|J")
    assert nggv[1] is None and nggv[2] is None
    assert {(f.row, f.field) for f in batch.failures} == {(1, "birth_date"), (2, "own_name")}
    assert reveal_mrn_column(MRN_KEY, REGISTRATION, PROFILE, batch.values[T.MRN]) == [
        "0012345",
        "0099",
        "X-77",
    ]


def test_mrn_without_mrn_key_is_a_config_error() -> None:
    canonical = get_profile(PROFILE).normalise_columns({"mrn": ["1"]}, ["MRN"])
    with pytest.raises(ConfigError, match="MRN key"):
        apply_source_step(canonical, SOURCE_KEYS[1])


def test_mrn_is_not_hashed() -> None:
    with pytest.raises(PseudonymisationError):
        hash_canonical(SOURCE_KEYS[1], PROFILE, T.MRN, "0012345")
    with pytest.raises(PseudonymisationError):
        hash_column(SOURCE_KEYS[1], PROFILE, T.MRN, ["0012345"])


def test_mrn_tokens_are_deterministic_same_length_and_bound_to_registration() -> None:
    tokens = encrypt_mrn_column(MRN_KEY, REGISTRATION, PROFILE, ["Q7", "0012345", "Q7", None])
    assert tokens[0] == tokens[2]
    assert tokens[3] is None
    assert len({len(t) for t in tokens if t is not None}) == 1, "length must not leak"
    other_registration = encrypt_mrn(MRN_KEY, "other-registration", PROFILE, "Q7")
    assert other_registration != tokens[0]

    with pytest.raises(PseudonymisationError) as wrong_registration:
        reveal_mrn(MRN_KEY, "other-registration", PROFILE, str(tokens[0]))
    assert "Q7" not in str(wrong_registration.value)
    assert wrong_registration.value.__cause__ is None
    other_key = MrnKey(1, bytes(64))
    with pytest.raises(PseudonymisationError):
        reveal_mrn(other_key, REGISTRATION, PROFILE, str(tokens[0]))
    with pytest.raises(PseudonymisationError):
        reveal_mrn(MRN_KEY, REGISTRATION, PROFILE, "not-a-token")


def test_mrn_encryption_refuses_uncanonical_input() -> None:
    with pytest.raises(PseudonymisationError):
        encrypt_mrn(MRN_KEY, REGISTRATION, PROFILE, "X" * 65)
    with pytest.raises(PseudonymisationError):
        encrypt_mrn(MRN_KEY, REGISTRATION, PROFILE, "")


def test_key_repr_hides_secret() -> None:
    key = SOURCE_KEYS[1]
    mrn_key = MRN_KEY
    for text in (repr(key), str(key), repr(mrn_key), str(mrn_key)):
        assert "secret" not in text
        assert key.secret.hex() not in text and repr(key.secret) not in text
        assert repr(mrn_key.secret) not in text
        assert base64.b64encode(key.secret).decode() not in text


def test_load_source_key_from_file_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.dumps(VECTORS["source_keys"][1])
    path = tmp_path / "dica.key.json"
    path.write_text(document, "utf-8")
    path.chmod(0o600)
    from_file = load_source_key(REGISTRATION, path=path)
    monkeypatch.setenv("TEST_SOURCE_KEY", document)
    from_env = load_source_key(REGISTRATION, env_var="TEST_SOURCE_KEY")

    assert from_file == from_env == SOURCE_KEYS[2]


def test_load_mrn_key_from_file(tmp_path: Path) -> None:
    path = tmp_path / "mrn.key.json"
    path.write_text(json.dumps(VECTORS["mrn_key"]), "utf-8")
    path.chmod(0o600)
    assert load_mrn_key(path=path) == MRN_KEY


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "open.key.json"
    path.write_text(json.dumps(VECTORS["source_keys"][0]), "utf-8")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="accessible to group or others") as caught:
        load_source_key(REGISTRATION, path=path)
    assert "mode 644" in str(caught.value)
    assert VECTORS["source_keys"][0]["secret"] not in str(caught.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "not JSON"),
        ('{"registration": "other", "version": 1, "secret": "AAAA"}', "no source key"),
        ('{"registration": "test-registration", "version": "1", "secret": "AAAA"}', "version"),
        ('{"registration": "test-registration", "version": 1, "secret": "%%%"}', "base64"),
        ('{"registration": "test-registration", "version": 1, "secret": "AAAA"}', "shorter"),
        ('{"registration": "test-registration", "version": 0, "secret": "%s"}', "version"),
    ],
)
def test_bad_source_key_documents(tmp_path: Path, document: str, message: str) -> None:
    secret = base64.b64encode(os.urandom(32)).decode()
    path = tmp_path / "bad.json"
    path.write_text(document.replace("%s", secret), "utf-8")
    path.chmod(0o600)  # key files must be owner-only, whatever the umask
    with pytest.raises(ConfigError, match=message) as raised:
        load_source_key(REGISTRATION, path=path)
    assert secret not in str(raised.value)


def test_missing_key_sources_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(ConfigError, match="not set"):
        load_source_key(REGISTRATION, env_var="NO_SUCH_KEY_VAR")
    with pytest.raises(ConfigError, match="cannot read"):
        load_source_key(REGISTRATION, path=tmp_path / "absent.json")
    with pytest.raises(ConfigError, match="exactly one"):
        load_source_key(REGISTRATION)
    with pytest.raises(ConfigError, match="32, 48 or 64"):
        MrnKey(1, bytes(16))


def test_new_key_json_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "fresh.json"
    path.write_text(new_key_json(version=3, registration=REGISTRATION), "utf-8")
    path.chmod(0o600)  # key files must be owner-only, whatever the umask
    key = load_source_key(REGISTRATION, path=path)
    assert key.version == 3 and len(key.secret) == 64
    mrn_path = tmp_path / "mrn.json"
    mrn_path.write_text(new_key_json(version=1), "utf-8")
    mrn_path.chmod(0o600)
    assert len(load_mrn_key(path=mrn_path).secret) == 64


def test_outputs_and_reprs_hold_no_identifier(caplog: pytest.LogCaptureFixture) -> None:
    person = {
        "bsn": ["111222333"],
        "mrn": ["PAT0042"],
        "own_name": ["Zwartjes"],
        "initials": ["Q."],
        "birth_date": ["1977-07-17"],
        "sex": ["V"],
        "postcode": ["2511 CV"],
        "house_number": ["99"],
    }
    with caplog.at_level(logging.DEBUG):
        canonical = get_profile(PROFILE).normalise_columns(person, list(T))
        batch = apply_source_step(canonical, SOURCE_KEYS[1], MRN_KEY)
    produced = " ".join(
        [repr(batch), repr(canonical), caplog.text]
        + [v for column in batch.values.values() for v in column if v is not None]
    )
    for needle in ("111222333", "PAT0042", "ZWARTJES", "Zwartjes", "19770717", "1977-07-17"):
        assert needle.lower() not in produced.lower()
    assert "2511" not in produced.replace(batch.values[T.A][0] or "", "")
