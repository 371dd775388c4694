"""Patient references: stable per key, useless without it, and the key file is guarded."""

from __future__ import annotations

import multiprocessing
import pickle
import stat
from pathlib import Path

import pytest

from aanlevering.errors import ConfigError, PseudonymisationError
from aanlevering.events.factory import open_event_store
from aanlevering.pseudonym.patient_ref import (
    KEY_FILE_NAME,
    PatientRefHasher,
    is_patient_ref,
    load_or_create_key,
)
from aanlevering.settings import load_settings

BSN = "123456782"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def hasher() -> PatientRefHasher:
    return PatientRefHasher(bytes(range(32)))


def test_the_same_patient_always_gets_the_same_reference(hasher: PatientRefHasher) -> None:
    ref = hasher.ref(BSN, scheme="bsn")
    assert ref == hasher.ref(BSN, scheme="bsn")
    assert is_patient_ref(ref)
    assert BSN not in ref


@pytest.mark.parametrize("written", ["123456782", " 1234.56.782 ", "1234 56 782", "123-456-782"])
def test_bsn_spellings_normalise_to_one_reference(hasher: PatientRefHasher, written: str) -> None:
    assert hasher.ref(written, scheme="bsn") == hasher.ref(BSN, scheme="bsn")


def test_an_eight_digit_bsn_gets_its_leading_zero_back(hasher: PatientRefHasher) -> None:
    assert hasher.ref("12345672", scheme="bsn") == hasher.ref("012345672", scheme="bsn")


def test_mrn_normalisation_ignores_case_and_spacing_but_keeps_leading_zeros(
    hasher: PatientRefHasher,
) -> None:
    assert hasher.ref("ab 00123", scheme="mrn") == hasher.ref("AB00123", scheme="mrn")
    assert hasher.ref("00123", scheme="mrn") != hasher.ref("123", scheme="mrn")


def test_the_scheme_separates_identifiers_with_the_same_digits(hasher: PatientRefHasher) -> None:
    assert hasher.ref(BSN, scheme="bsn") != hasher.ref(BSN, scheme="mrn")


def test_a_different_key_gives_a_different_reference() -> None:
    one = PatientRefHasher(b"k" * 32).ref(BSN, scheme="bsn")
    other = PatientRefHasher(b"K" * 32).ref(BSN, scheme="bsn")
    assert one != other


@pytest.mark.parametrize(
    ("identifier", "scheme", "message"),
    [
        ("", "mrn", "identifier is empty"),
        ("12-34", "bsn", "expected 8 or 9 digits"),
        ("1234567821", "bsn", "expected 8 or 9 digits"),
        (BSN, "BSN", "scheme must be lowercase"),
    ],
)
def test_unusable_input_is_refused_without_echoing_it(
    hasher: PatientRefHasher, identifier: str, scheme: str, message: str
) -> None:
    with pytest.raises(PseudonymisationError, match=message) as refused:
        hasher.ref(identifier, scheme=scheme)
    assert not identifier or identifier not in str(refused.value)


def test_the_key_stays_out_of_repr_and_pickles() -> None:
    key = b"\x01secret-key-material-0123456789"
    hasher = PatientRefHasher(key)
    assert "secret" not in repr(hasher) and repr(hasher) == "PatientRefHasher(key=<hidden>)"
    assert not hasattr(hasher, "__dict__")
    with pytest.raises(TypeError, match="can not be pickled"):
        pickle.dumps(hasher)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        PatientRefHasher(b"short")


def test_the_key_file_is_created_once_with_private_permissions(tmp_path: Path) -> None:
    settings = load_settings(
        {"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path / "home")}
    )
    with open_event_store(settings.event_store_url) as store:
        first = PatientRefHasher.from_settings(settings, store)
    key_file = settings.secrets_dir / KEY_FILE_NAME
    assert key_file.stat().st_size == 32
    assert mode(key_file) == 0o600
    assert mode(settings.secrets_dir) == 0o700
    assert [p.name for p in settings.secrets_dir.iterdir()] == [KEY_FILE_NAME]  # no temp files left
    with open_event_store(settings.event_store_url) as store:
        again = PatientRefHasher.from_settings(settings, store)
    assert again.ref(BSN, scheme="bsn") == first.ref(BSN, scheme="bsn")


def test_separate_installations_get_separate_keys(tmp_path: Path) -> None:
    one = PatientRefHasher(load_or_create_key(tmp_path / "a" / KEY_FILE_NAME))
    other = PatientRefHasher(load_or_create_key(tmp_path / "b" / KEY_FILE_NAME))
    assert one.ref(BSN, scheme="bsn") != other.ref(BSN, scheme="bsn")


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / KEY_FILE_NAME
    load_or_create_key(key_file)
    key_file.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_or_create_key(key_file)


def test_a_key_file_of_the_wrong_length_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_bytes(b"too short")
    key_file.chmod(0o600)
    with pytest.raises(ConfigError, match="exactly 32 bytes") as refused:
        load_or_create_key(key_file)
    assert "too short" not in str(refused.value)


def _create_key(path: str, results: multiprocessing.Queue[bytes]) -> None:
    results.put(load_or_create_key(Path(path)))


def test_processes_creating_the_key_together_agree_on_one(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[bytes] = context.Queue()
    key_file = tmp_path / "secrets" / KEY_FILE_NAME
    processes = [
        context.Process(target=_create_key, args=(str(key_file), results)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    keys = {results.get(timeout=120) for _ in processes}
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    assert keys == {key_file.read_bytes()}
