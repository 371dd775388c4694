"""The register and opt-out projections on the real PostgreSQL event log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from aanlevering.events import EventStore, open_event_store
from aanlevering.obligation.decisions import RegisterDecision
from aanlevering.obligation.service import record_decisions
from aanlevering.obligation.status import RegisterState, load_status, load_statuses
from aanlevering.optout.register import OptOutRegister
from aanlevering.optout.service import record_optouts
from aanlevering.optout.sources import mrn_hasher
from aanlevering.optout.sources.ehr_csv import read_optout_csv
from aanlevering.periods import Period
from aanlevering.pseudonym.patient_ref import PatientRefHasher

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(postgres_schema_url: str) -> Iterator[EventStore]:
    with open_event_store(postgres_schema_url) as store:
        yield store


def test_register_status_is_projected_from_postgres(pg_store: EventStore) -> None:
    decisions = [
        RegisterDecision("dica-dsaa", "rejected", date(2026, 4, 1)),
        RegisterDecision("dica-dsaa", "objection-filed", date(2026, 4, 20)),
        RegisterDecision("dica-dsaa", "objection-upheld", date(2026, 7, 1), term_years=3),
        RegisterDecision("nkr-borst", "included", date(2026, 3, 1), term_years=5),
    ]
    assert record_decisions(pg_store, decisions).appended == 4
    assert record_decisions(pg_store, decisions).appended == 0
    assert pg_store.last_position() == 4

    status = load_status(pg_store, "dica-dsaa")
    assert status.state_on(date(2026, 5, 1)) is RegisterState.IN_OBJECTION
    assert status.state_on(date(2026, 7, 1)) is RegisterState.INCLUDED
    assert status.state_on(date(2029, 7, 1)) is RegisterState.ENDED
    assert sorted(load_statuses(pg_store)) == ["dica-dsaa", "nkr-borst"]


def test_optout_register_is_projected_from_postgres(pg_store: EventStore, tmp_path: Path) -> None:
    hash_mrn = mrn_hasher(PatientRefHasher(b"postgres-test-key-for-patient-01"))
    extract = tmp_path / "optouts.csv"
    extract.write_text(
        "patientnummer;datum_registratie;scope;datum_intrekking\n"
        "ZH-0048213;15-01-2027;all;\n"
        "ZH-0051977;15-01-2027;all;01-03-2027\n",
        encoding="utf-8",
    )
    entries = read_optout_csv(extract, hash_mrn).entries
    assert record_optouts(pg_store, entries).appended == 3
    assert record_optouts(pg_store, entries).appended == 0

    register = OptOutRegister.load(pg_store)
    q2 = Period.parse("2027-Q2")
    assert register.is_opted_out(hash_mrn("ZH-0048213"), "ldtr", q2, date(2027, 7, 5))
    assert not register.is_opted_out(hash_mrn("ZH-0051977"), "ldtr", q2, date(2027, 7, 5))
    assert not register.is_opted_out(
        hash_mrn("ZH-0048213"), "ldtr", Period.parse("2026"), date(2027, 7, 5)
    )
