"""The source's latest word on an opt-out's withdrawal counts, also when it undoes one.

EHR extracts and Consent exports are snapshots: a withdrawal entered by mistake
and then cleared in the EHR (the row again without a withdrawal date, the
Consent ``active`` again) means the patient is opted out. The log held the
withdrawal and re-ingesting appended nothing, so the patient was delivered.
Real SQLite event log, real CSV reader.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from optout_support import MRNS, optouts_csv

from aanlevering.optout.register import OptOutRegister
from aanlevering.optout.service import record_optouts
from aanlevering.optout.sources.ehr_csv import read_optout_csv
from aanlevering.periods import Period

Q2 = Period.parse("2027-Q2")
DELIVERY_DAY = date(2027, 7, 5)


def _ingest(store, hash_mrn, path: Path, row: str):  # type: ignore[no-untyped-def]
    return record_optouts(store, read_optout_csv(optouts_csv(path, [row]), hash_mrn).entries)


def test_a_withdrawal_cleared_in_the_ehr_puts_the_opt_out_back_in_force(
    tmp_path: Path, store, hash_mrn
) -> None:
    ref = hash_mrn(MRNS[0])
    _ingest(store, hash_mrn, tmp_path / "a.csv", f"{MRNS[0]};15-01-2027;all;01-03-2027")
    assert not OptOutRegister.load(store).is_opted_out(ref, "ldtr", Q2, DELIVERY_DAY)

    undone = _ingest(store, hash_mrn, tmp_path / "b.csv", f"{MRNS[0]};15-01-2027;all;")

    assert undone.appended == 1
    assert OptOutRegister.load(store).is_opted_out(ref, "ldtr", Q2, DELIVERY_DAY)
    assert OptOutRegister.load_for(store, [ref]).is_opted_out(ref, "ldtr", Q2, DELIVERY_DAY)
    again = _ingest(store, hash_mrn, tmp_path / "c.csv", f"{MRNS[0]};15-01-2027;all;")
    assert again.appended == 0  # idempotent
    stale = _ingest(store, hash_mrn, tmp_path / "d.csv", f"{MRNS[0]};15-01-2027;all;01-03-2027")
    assert stale.appended == 0  # an older snapshot changes nothing: still opted out
    assert OptOutRegister.load(store).is_opted_out(ref, "ldtr", Q2, DELIVERY_DAY)
    summary = OptOutRegister.load(store).summary(DELIVERY_DAY)
    assert (summary.in_force, summary.withdrawn) == (1, 0)


def test_a_withdrawal_date_moved_later_in_the_ehr_counts_from_the_later_date(
    tmp_path: Path, store, hash_mrn
) -> None:
    ref = hash_mrn(MRNS[1])
    _ingest(store, hash_mrn, tmp_path / "a.csv", f"{MRNS[1]};15-01-2027;all;01-03-2027")
    _ingest(store, hash_mrn, tmp_path / "b.csv", f"{MRNS[1]};15-01-2027;all;01-09-2027")

    register = OptOutRegister.load(store)
    assert register.is_opted_out(ref, "ldtr", Q2, DELIVERY_DAY)  # in force until 1 September
    assert not register.is_opted_out(ref, "ldtr", Q2, date(2027, 9, 2))
