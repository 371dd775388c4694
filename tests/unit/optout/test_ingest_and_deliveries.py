"""Opt-outs in the event log: one stream per patient ref, idempotent, and no MRN anywhere."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from optout_support import MRNS, optouts_csv

from aanlevering.errors import EventStoreError
from aanlevering.optout.deliveries import (
    DeliveryRef,
    deliveries_containing,
    delivery_contents_events,
    record_delivery_contents,
)
from aanlevering.optout.register import OptOutRegister
from aanlevering.optout.service import record_optouts
from aanlevering.optout.sources.ehr_csv import read_optout_csv
from aanlevering.periods import Period


def test_optouts_are_recorded_per_patient_ref_without_mrns(tmp_path: Path, store, hash_mrn) -> None:
    path = optouts_csv(
        tmp_path / "optouts.csv",
        [f"{MRNS[0]};15-01-2027;all;", f"{MRNS[1]};01-02-2027;nkr-borst;01-03-2027"],
    )
    result = record_optouts(store, read_optout_csv(path, hash_mrn).entries)
    assert (result.read, result.appended, result.already_recorded) == (2, 3, 0)

    records = list(store.read_all())
    assert {r.stream for r in records} == {
        f"optout-{hash_mrn(MRNS[0])}",
        f"optout-{hash_mrn(MRNS[1])}",
    }
    assert [r.event_type for r in records] == [
        "optout.OptOutRegistered",
        "optout.OptOutRegistered",
        "optout.OptOutWithdrawn",
    ]
    stored = " ".join(f"{r.stream} {r.payload} {r.metadata}" for r in records)
    database = b"".join(f.read_bytes() for f in tmp_path.glob("events.sqlite3*"))  # with the WAL
    assert hash_mrn(MRNS[0]).encode() in database  # the search does see what was stored
    for mrn in MRNS:
        for form in (mrn, mrn.replace("-", "")):
            assert form not in stored
            assert form.encode() not in database


def test_reingest_appends_nothing_and_a_new_withdrawal_appends_only_that(
    tmp_path: Path, store, hash_mrn
) -> None:
    first = optouts_csv(tmp_path / "a.csv", [f"{MRNS[0]};15-01-2027;all;"])
    record_optouts(store, read_optout_csv(first, hash_mrn).entries)
    again = record_optouts(store, read_optout_csv(first, hash_mrn).entries)
    assert (again.appended, again.already_recorded) == (0, 1)

    later = optouts_csv(tmp_path / "b.csv", [f"{MRNS[0]};15-01-2027;all;01-04-2027"])
    withdrawal = record_optouts(store, read_optout_csv(later, hash_mrn).entries)
    assert (withdrawal.appended, withdrawal.already_recorded) == (1, 1)

    register = OptOutRegister.load(store)
    ref = hash_mrn(MRNS[0])
    assert register.is_opted_out(ref, "ldtr", Period.parse("2027-01"), date(2027, 2, 5))
    assert not register.is_opted_out(ref, "ldtr", Period.parse("2027-Q1"), date(2027, 4, 5))
    summary = register.summary(date(2027, 4, 5))
    assert (summary.patients, summary.in_force, summary.withdrawn) == (1, 0, 1)


def test_projection_matches_withdrawals_to_their_optout(tmp_path: Path, store, hash_mrn) -> None:
    path = optouts_csv(
        tmp_path / "o.csv",
        [
            f"{MRNS[0]};15-01-2027;nkr-borst;01-03-2027",
            f"{MRNS[0]};01-06-2027;all;",
            f"{MRNS[1]};10-01-2027;ldtr|dica-dsaa;",
        ],
    )
    record_optouts(store, read_optout_csv(path, hash_mrn).entries)
    register = OptOutRegister.load(store)
    ref = hash_mrn(MRNS[0])
    assert not register.is_opted_out(ref, "nkr-borst", Period.parse("2027-04"), date(2027, 5, 1))
    assert register.is_opted_out(ref, "nkr-borst", Period.parse("2027-04"), date(2027, 6, 2))
    summary = register.summary(date(2027, 7, 1))
    assert summary.by_scope == {"all": 1, "dica-dsaa|ldtr": 1}
    assert (summary.in_force, summary.withdrawn, summary.registered_later) == (2, 1, 0)


def test_which_deliveries_contained_a_patient(store, hash_mrn) -> None:
    a, b, c = (hash_mrn(m) for m in MRNS[:3])
    record_delivery_contents(store, "nkr-borst", "2026", 1, [a, b])
    record_delivery_contents(store, "nkr-borst", "2026", 2, [a])
    record_delivery_contents(store, "dica-dsaa", "2026-Q4", 1, [b, c])
    assert record_delivery_contents(store, "nkr-borst", "2026", 1, [b, a]) == 0  # idempotent

    assert deliveries_containing(store, a) == (
        DeliveryRef("nkr-borst", "2026", 1),
        DeliveryRef("nkr-borst", "2026", 2),
    )
    assert deliveries_containing(store, c) == (DeliveryRef("dica-dsaa", "2026-Q4", 1),)
    assert deliveries_containing(store, hash_mrn(MRNS[3])) == ()
    streams = {r.stream for r in store.read_all()}
    assert "delivery-contents/nkr-borst.2026.v1" in streams


def test_delivery_contents_are_split_in_parts_and_refuse_identifiers(store, hash_mrn) -> None:
    refs = [f"pr_{i:032x}" for i in range(12)]
    events = delivery_contents_events("ldtr", "2027-01", 1, refs, part_size=5)
    assert [(e.part, e.parts, len(e.patient_refs)) for e in events] == [
        (1, 3, 5),
        (2, 3, 5),
        (3, 3, 2),
    ]
    with pytest.raises(EventStoreError, match="never identifiers"):
        delivery_contents_events("ldtr", "2027-01", 1, [refs[0], MRNS[0]])
    with pytest.raises(EventStoreError, match="expected a patient reference"):
        deliveries_containing(store, MRNS[0])


def test_the_deletion_answer_says_which_versions_were_receipted_or_only_sent(
    store, hash_mrn
) -> None:
    """Contents are recorded when staged (0642): the answer follows what became of each send."""
    from aanlevering.deliver.events import (
        DeliveryAborted,
        DeliveryAttemptFailed,
        DeliveryReceipted,
        DeliveryStaged,
        delivery_stream,
    )
    from aanlevering.optout.deliveries import SENT_WITHOUT_RECEIPT

    patient = hash_mrn(MRNS[0])
    outcomes = {  # version -> what happened after it was staged
        1: [DeliveryReceipted],
        2: [],  # staged, then the process died (it may have been sent)
        3: [True],  # an attempt failed retryably (timeout: maybe stored)
        4: [False],  # refused by the receiver
        5: [DeliveryAborted],  # a negative decision before any attempt
        6: [True, DeliveryAborted],  # aborted after an attempt that may have arrived
    }
    stream = delivery_stream("ldtr", "2026-03")
    for version, after in outcomes.items():
        record_delivery_contents(store, "ldtr", "2026-03", version, [patient])
        key = f"h.ldtr.2026-03.v{version}"
        common = {"registration": "ldtr", "period": "2026-03", "idempotency_key": key}
        events: list = [DeliveryStaged(**common, version=version, channel="sftp", format="x")]
        for outcome in after:
            if outcome is DeliveryReceipted:
                events.append(
                    DeliveryReceipted(
                        **common, version=version, receipt_id="r", receiver="lnaz",
                        channel="sftp", received_at="2026-04-02T10:00:00+00:00",
                    )
                )  # fmt: skip
            elif outcome is DeliveryAborted:
                events.append(DeliveryAborted(**common, reason="no obligation"))
            else:
                events.append(
                    DeliveryAttemptFailed(**common, attempt=1, retryable=outcome, reason="x")
                )
        store.append(stream, events, None)

    assert deliveries_containing(store, patient) == (
        DeliveryRef("ldtr", "2026-03", 1, "receipted"),
        DeliveryRef("ldtr", "2026-03", 2, SENT_WITHOUT_RECEIPT),
        DeliveryRef("ldtr", "2026-03", 3, SENT_WITHOUT_RECEIPT),
        DeliveryRef("ldtr", "2026-03", 6, SENT_WITHOUT_RECEIPT),
    )
