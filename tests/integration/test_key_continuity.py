"""A machine with another patient-reference key than the log's is refused (SQLite and PostgreSQL).

Why it matters: opt-outs are stored by keyed patient reference; a second
Airflow worker or a restored home that quietly made a new key would match
none of them, and opted-out patients would be delivered.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from aanlevering.errors import ConfigError
from aanlevering.events import EventStore, open_event_store
from aanlevering.pseudonym.events import HospitalKeyInUse
from aanlevering.pseudonym.key_continuity import check_value, key_stream
from aanlevering.pseudonym.patient_ref import KEY_FILE_NAME, PatientRefHasher
from aanlevering.settings import Settings, load_settings


def _machine(tmp_path: Path, name: str, provider: str = "hospital-a") -> Settings:
    return load_settings(
        {
            "AANLEVERING_DEMO_MODE": "yes",
            "AANLEVERING_HOME": str(tmp_path / name),
            "AANLEVERING_PROVIDER_ID": provider,
        }
    )


def _recorded(store: EventStore, provider: str) -> list[HospitalKeyInUse]:
    return [
        e for e in (r.to_event() for r in store.read_stream(key_stream(provider)))
        if isinstance(e, HospitalKeyInUse)
    ]  # fmt: skip


def test_first_use_records_the_check_value_and_the_same_key_passes(
    store: EventStore, tmp_path: Path
) -> None:
    one = _machine(tmp_path, "worker-1")
    first = PatientRefHasher.from_settings(one, store)
    key = (one.secrets_dir / KEY_FILE_NAME).read_bytes()
    # A second worker with the same secrets (provisioned from one source) is fine.
    two = _machine(tmp_path, "worker-2")
    shutil.copytree(one.secrets_dir, two.secrets_dir)
    second = PatientRefHasher.from_settings(two, store)
    assert second.mrn_ref("ZH-1") == first.mrn_ref("ZH-1")
    recorded = _recorded(store, "hospital-a")
    assert [(e.key_name, e.check_value) for e in recorded] == [("patient-ref", check_value(key))]
    assert key.hex() not in str(recorded) and check_value(key) != key.hex()[:16]


def test_a_worker_that_made_its_own_key_is_refused_naming_both_check_values(
    store: EventStore, tmp_path: Path
) -> None:
    PatientRefHasher.from_settings(_machine(tmp_path, "worker-1"), store)
    empty = _machine(tmp_path, "worker-2")  # started with an empty secrets folder
    with pytest.raises(ConfigError) as refused:
        PatientRefHasher.from_settings(empty, store)
    message = str(refused.value)
    assert str(empty.secrets_dir / KEY_FILE_NAME) in message
    assert len(re.findall(r"\b[0-9a-f]{16}\b", message)) == 2
    assert "opt-outs would be missed" in message
    assert len(_recorded(store, "hospital-a")) == 1  # the log keeps the first key


def test_a_wiped_secrets_folder_stops_the_optout_command_before_it_records_anything(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aanlevering.cli.main import main

    home = tmp_path / "home"
    monkeypatch.setenv("AANLEVERING_HOME", str(home))
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", store_url)
    optouts = tmp_path / "optouts.csv"
    optouts.write_text(
        "patientnummer;datum_registratie;scope;datum_intrekking\nZH-1;01-02-2026;all;\n",
        encoding="utf-8",
    )
    assert main(["optout", "ingest", str(optouts)]) == 0
    with open_event_store(store_url) as store:
        before = list(store.read_all())
    shutil.rmtree(home / "secrets")  # a restore without the secrets, next to the shared log
    assert main(["optout", "ingest", str(optouts)]) == 2
    with open_event_store(store_url) as store:
        assert len(list(store.read_all())) == len(before)
