"""The TTP's cryptographic constructions, without HTTP: linkage, separation, binding, refusal."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from aanlevering.counterparts.ttp.config import TTPConfig, load_config
from aanlevering.counterparts.ttp.demo_config import DemoRegistration, write_demo_config
from aanlevering.counterparts.ttp.keys import KeyRing, derive_key
from aanlevering.counterparts.ttp.pseudonyms import (
    DefinitiveMaker,
    exchange_temporaries,
    issue_temporaries,
    reverse_mrn,
)
from aanlevering.counterparts.ttp.refusal import Refusal
from aanlevering.pseudonym.crypto import b64url_encode, parse_label


@dataclass(frozen=True)
class Inputs:
    ref: str
    digests: dict[str, str]
    mrn_ciphertext: str | None = None


@dataclass(frozen=True)
class Temporaries:
    ref: str
    pseudonyms: dict[str, str]


def digest(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> TTPConfig:
    folder = tmp_path_factory.mktemp("ttp-unit")
    setup = write_demo_config(
        folder,
        registrations=[
            DemoRegistration("reg-a", "holder-a", ("NGGV", "C", "MRN")),
            DemoRegistration("reg-b", "holder-b", ("NGGV", "C", "MRN")),
        ],
    )
    return load_config(setup.config)


@pytest.fixture(scope="module")
def keyring(config: TTPConfig) -> KeyRing:
    return KeyRing(config)


def temporaries(config: TTPConfig, keyring: KeyRing, reg: str, records, hospital="h1"):
    return issue_temporaries(config.registrations[reg], keyring.active(reg), hospital, records)


def exchange(config: TTPConfig, keyring: KeyRing, reg: str, issued, target=None):
    records = [Temporaries(str(r["ref"]), dict(r["pseudonyms"])) for r in issued]  # type: ignore[call-overload]
    return exchange_temporaries(config.registrations[reg], keyring, records, target)[0]


def test_definitive_pseudonym_is_the_keyed_hash_of_type_and_digest(
    config: TTPConfig, keyring: KeyRing
) -> None:
    import hmac

    master = bytes.fromhex((config.path.parent / "keys" / "master.key").read_text().strip())
    key = derive_key(master, "reg-a", 1, "definitive", 32)
    d = digest("person")
    expected = hmac.new(key, b"NGGV\x00" + bytes.fromhex(d), "sha256").digest()

    label = DefinitiveMaker(keyring.active("reg-a")).from_hex("NGGV", d, 0)

    assert label == "NGGV:v1:" + b64url_encode(expected)


def test_same_digest_from_two_hospitals_links_only_within_a_registration(
    config: TTPConfig, keyring: KeyRing
) -> None:
    same = [Inputs("x", {"NGGV": digest("p"), "C": digest("c")})]
    at_h1 = exchange(config, keyring, "reg-a", temporaries(config, keyring, "reg-a", same, "h1"))
    at_h2 = exchange(config, keyring, "reg-a", temporaries(config, keyring, "reg-a", same, "h2"))
    in_b = exchange(config, keyring, "reg-b", temporaries(config, keyring, "reg-b", same, "h1"))

    assert at_h1 == at_h2
    assert at_h1[0]["pseudonyms"]["NGGV"] != in_b[0]["pseudonyms"]["NGGV"]
    # Types are separated too: the same digest under C gives another pseudonym.
    same_digest = [Inputs("y", {"NGGV": digest("z"), "C": digest("z")})]
    both = exchange(config, keyring, "reg-a", temporaries(config, keyring, "reg-a", same_digest))
    a, c = (parse_label(both[0]["pseudonyms"][t]).payload for t in ("NGGV", "C"))
    assert a != c


def test_temporary_pseudonyms_do_not_open_in_another_registration(
    config: TTPConfig, keyring: KeyRing
) -> None:
    issued = temporaries(config, keyring, "reg-a", [Inputs("x", {"NGGV": digest("p")})])
    with pytest.raises(Refusal) as refused:
        exchange(config, keyring, "reg-b", issued)
    assert (refused.value.status, refused.value.code, refused.value.index) == (
        422,
        "invalid_pseudonym",
        0,
    )


def test_a_relabelled_temporary_pseudonym_does_not_open(
    config: TTPConfig, keyring: KeyRing
) -> None:
    issued = temporaries(config, keyring, "reg-a", [Inputs("x", {"NGGV": digest("p")})])
    forged = str(issued[0]["pseudonyms"]["NGGV"]).replace("T1:NGGV:", "T1:C:")  # type: ignore[index]
    with pytest.raises(Refusal, match="not a temporary pseudonym of registration 'reg-a'"):
        exchange_temporaries(
            config.registrations["reg-a"], keyring, [Temporaries("x", {"C": forged})], None
        )


def test_any_disallowed_type_refuses_the_whole_batch(config: TTPConfig, keyring: KeyRing) -> None:
    records = [Inputs(str(i), {"NGGV": digest(str(i))}) for i in range(10)]
    records.append(Inputs("b", {"B": digest("bsn")}))
    with pytest.raises(Refusal) as refused:
        temporaries(config, keyring, "reg-a", records)
    assert (refused.value.status, refused.value.pseudonym_type) == (403, "B")
    assert "reg-a" in refused.value.message and "whole request" in refused.value.message


def test_bad_digest_names_the_record_and_type(config: TTPConfig, keyring: KeyRing) -> None:
    records = [Inputs("0", {"NGGV": digest("0")}), Inputs("1", {"C": "f" * 63})]
    with pytest.raises(Refusal) as refused:
        temporaries(config, keyring, "reg-a", records)
    assert (refused.value.index, refused.value.pseudonym_type) == (1, "C")
    assert "record 1" in refused.value.message and "f" * 63 not in refused.value.message


def test_duplicate_refs_and_empty_records_are_refused(config: TTPConfig, keyring: KeyRing) -> None:
    with pytest.raises(Refusal, match="unique"):
        temporaries(
            config,
            keyring,
            "reg-a",
            [Inputs("x", {"C": digest("1")}), Inputs("x", {"C": digest("2")})],
        )
    with pytest.raises(Refusal, match="neither digests"):
        temporaries(config, keyring, "reg-a", [Inputs("x", {})])


def test_mrn_pseudonym_reverses_only_for_its_hospital(config: TTPConfig, keyring: KeyRing) -> None:
    ciphertext = b64url_encode(b"hospital-ciphertext-of-an-mrn")
    issued = temporaries(
        config, keyring, "reg-a", [Inputs("x", {}, ciphertext)], hospital="hospital-1"
    )
    label = str(issued[0]["pseudonyms"]["MRN"])  # type: ignore[index]
    assert label.startswith("MRN:v1:")
    registration = config.registrations["reg-a"]

    assert reverse_mrn(registration, keyring, "hospital-1", [label]) == ([ciphertext], {1})
    with pytest.raises(Refusal) as refused:
        reverse_mrn(registration, keyring, "hospital-2", [label])
    assert (refused.value.status, refused.value.code) == (403, "mrn_not_yours")


def test_keys_are_separated_by_registration_version_and_purpose() -> None:
    secret = bytes(32)
    keys = {
        derive_key(secret, reg, version, purpose, 32)
        for reg in ("a", "b")
        for version in (1, 2)
        for purpose in ("definitive", "temporary", "mrn")
    }
    assert len(keys) == 12


def test_key_ring_refuses_unknown_versions(keyring: KeyRing) -> None:
    with pytest.raises(Refusal) as refused:
        keyring.version("reg-a", 7)
    assert refused.value.code == "unknown_key_version"


def test_key_files_must_exist_and_be_long_enough(tmp_path: Path, config: TTPConfig) -> None:
    from aanlevering.counterparts.ttp.keys import read_secret_file
    from aanlevering.errors import ConfigError

    short = tmp_path / "short.key"
    short.write_text("00" * 16)
    short.chmod(0o600)
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        read_secret_file(short)
    text = tmp_path / "text.key"
    text.write_text("not hex at all")
    text.chmod(0o600)
    with pytest.raises(ConfigError) as error:
        read_secret_file(text)
    assert "not hex at all" not in str(error.value)
