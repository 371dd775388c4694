"""One event log belongs to one hospital: a second provider id on it is refused (0452).

Why it matters: delivery streams (``delivery-<registration>-<period>``),
register decisions and the opt-out count are not kept apart by provider. Two
hospitals pointed at one database (one PostgreSQL schema, one copied SQLite
file) would see each other's receipts as their own deliveries: a false
"delivered" for the period the other hospital sent. And a hospital whose
provider id was changed would start an empty key stream, so the key check of
decision 0291 would accept any key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.errors import ConfigError
from aanlevering.events import EventStore, open_event_store
from aanlevering.pseudonym.events import HospitalKeyInUse
from aanlevering.pseudonym.patient_ref import PatientRefHasher
from aanlevering.settings import Settings, load_settings


def _hospital(tmp_path: Path, provider: str) -> Settings:
    return load_settings(
        {
            "AANLEVERING_DEMO_MODE": "yes",
            "AANLEVERING_HOME": str(tmp_path / provider),
            "AANLEVERING_PROVIDER_ID": provider,
        }
    )


def _key_facts(store: EventStore) -> list[HospitalKeyInUse]:
    return [
        e for e in (r.to_event() for r in store.read_types([HospitalKeyInUse.event_type]))
        if isinstance(e, HospitalKeyInUse)
    ]  # fmt: skip


def test_a_second_hospital_on_one_log_is_refused_naming_both(
    store: EventStore, tmp_path: Path
) -> None:
    PatientRefHasher.from_settings(_hospital(tmp_path, "hospital-a"), store)
    with pytest.raises(ConfigError) as refused:
        PatientRefHasher.from_settings(_hospital(tmp_path, "hospital-b"), store)
    message = str(refused.value)
    assert "hospital-a" in message and "hospital-b" in message
    assert "AANLEVERING_EVENT_STORE" in message
    assert {e.provider_id for e in _key_facts(store)} == {"hospital-a"}  # nothing of b's
    PatientRefHasher.from_settings(_hospital(tmp_path, "hospital-a"), store)  # a still works


def test_each_hospital_in_its_own_log_is_fine(tmp_path: Path) -> None:
    for provider in ("hospital-a", "hospital-b"):
        with open_event_store(f"sqlite:///{tmp_path / provider / 'events.sqlite3'}") as store:
            PatientRefHasher.from_settings(_hospital(tmp_path, provider), store)
            assert [e.provider_id for e in _key_facts(store)] == [provider]


def test_a_second_hospitals_optout_ingest_records_nothing(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aanlevering.cli.main import main

    optouts = tmp_path / "optouts.csv"
    optouts.write_text(
        "patientnummer;datum_registratie;scope;datum_intrekking\nZH-1;01-02-2026;all;\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", store_url)
    for provider in ("hospital-a", "hospital-b"):
        monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / provider))
        monkeypatch.setenv("AANLEVERING_PROVIDER_ID", provider)
        if provider == "hospital-a":
            assert main(["optout", "ingest", str(optouts)]) == 0
            with open_event_store(store_url) as store:
                before = store.last_position()
        else:
            assert main(["optout", "ingest", str(optouts)]) == 2
    with open_event_store(store_url) as store:
        assert store.last_position() == before


def test_a_second_hospitals_register_decision_is_not_recorded_either(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another hospital's inclusion would let this one deliver without its own."""
    from aanlevering.cli.main import main

    monkeypatch.setenv("AANLEVERING_EVENT_STORE", store_url)
    with open_event_store(store_url) as store:
        PatientRefHasher.from_settings(_hospital(tmp_path, "hospital-a"), store)
        before = store.last_position()
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "hospital-b"))
    monkeypatch.setenv("AANLEVERING_PROVIDER_ID", "hospital-b")
    decide = ["register", "decide", "--registration", "dica-dsaa", "--decision", "included"]
    decide += ["--term-years", "5"]
    assert main([*decide, "--decided-on", "2026-03-01", "--effective-from", "2026-03-01"]) == 2
    with open_event_store(store_url) as store:
        assert store.last_position() == before
