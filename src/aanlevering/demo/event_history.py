"""A synthetic event history (years of monthly deliveries, many opt-outs) for benchmarks and tests.

Why: whether a run stays fast as the log grows, and whether an indexed read
gives what a full replay gives, can only be shown on a log the size of a
hospital's after years of use. This writes one through the real store API
(real event classes, the same encoding and checks), many streams per
transaction so that building it takes seconds, not one disk flush per fact.

Per delivery (registration x month): opt-outs applied, validation,
pseudonymisation, staged, (one in ten first failing once) receipted, the
delivery contents (patient references) and the record digests the version
carried (decision 0465), as a real run leaves them. Optionally a few earlier
periods of one more registration (``prior_registration``: the benchmark's
own), whose record digests a run of that registration reads (decision
0466). Opt-outs: one stream per patient, one in twenty later withdrawn.
Patient references are random ``pr_`` values and digests random numbers (no
person or record behind them).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from aanlevering.deliver.events import (
    DeliveryAttemptFailed,
    DeliveryReceipted,
    DeliveryStaged,
    delivery_stream,
    record_keys_stream,
)
from aanlevering.deliver.record_digests import digest_events
from aanlevering.events.model import DomainEvent
from aanlevering.events.store import EventStore
from aanlevering.optout.deliveries import delivery_contents_events
from aanlevering.optout.events import (
    OptOutRegistered,
    OptOutsApplied,
    OptOutWithdrawn,
    applied_stream,
    contents_stream,
    optout_stream,
)
from aanlevering.pseudonym.events import PseudonymisationCompleted
from aanlevering.pseudonym.service import pseudonym_stream
from aanlevering.validate.events import ValidationCompleted, validation_stream

Batch = tuple[str, Sequence[DomainEvent], int | None]


@dataclass(frozen=True)
class HistoryShape:
    """How large a history to write."""

    registrations: int = 20
    months: int = 60
    patients_per_delivery: int = 500
    optouts: int = 200_000
    first_month: date = date(2021, 1, 1)
    provider: str = "demo-hospital"
    registration_prefix: str = "hist"
    seed: int = 2026
    #: A registration of the run being measured, and earlier periods of it
    #: (receipted, with record digests) that its run looks its records up in.
    prior_registration: str | None = None
    prior_periods: tuple[str, ...] = ()
    prior_datasets: tuple[str, ...] = ("records",)
    prior_records: int = 20_000


@dataclass(frozen=True)
class HistoryWritten:
    """What :func:`write_history` appended."""

    events: int
    deliveries: int
    optouts: int


def _ref(rng: random.Random) -> str:
    return f"pr_{rng.getrandbits(128):032x}"


def _month(first: date, offset: int) -> tuple[str, date]:
    year, month = divmod(first.month - 1 + offset, 12)
    start = date(first.year + year, month + 1, 1)
    return f"{start:%Y-%m}", start


def _random_digests(rng: random.Random, datasets: Sequence[str], records: int) -> dict[str, Any]:
    """Sorted distinct random record digests per dataset, as a version records them."""
    numbers = np.random.default_rng(rng.getrandbits(64))
    return {
        name: np.unique(numbers.integers(0, 2**63, size=records, dtype=np.uint64))
        for name in datasets
    }


def _receipted(
    shape: HistoryShape,
    *,
    registration: str,
    period: str,
    when: datetime,
    counts: dict[str, int],
    ref: str,
) -> tuple[DeliveryStaged, DeliveryReceipted]:
    """A first version staged and receipted (``ref``: its content hash, random)."""
    key = f"{shape.provider}.{registration}.{period}.v1"
    staged = DeliveryStaged(
        registration=registration,
        period=period,
        version=1,
        idempotency_key=key,
        channel="https",
        format="csv",
        record_counts=counts,
        content_sha256=ref,
        provider=shape.provider,
        occurred_at=when,
    )
    receipted = DeliveryReceipted(
        registration=registration,
        period=period,
        version=1,
        idempotency_key=key,
        receipt_id=f"r-{ref[:12]}",
        receiver="registry-holder",
        channel="https",
        received_at=when.isoformat(),
        provider=shape.provider,
        occurred_at=when,
    )
    return staged, receipted


def prior_period_batches(shape: HistoryShape, rng: random.Random) -> Iterator[Batch]:
    """Receipted first versions of ``prior_periods`` of ``prior_registration``, with digests."""
    if shape.prior_registration is None:
        return
    registration = shape.prior_registration
    for period in shape.prior_periods:
        when = datetime(int(period[:4]) + 1, 2, 1, tzinfo=UTC)
        counts = dict.fromkeys(shape.prior_datasets, shape.prior_records)
        staged, receipted = _receipted(
            shape,
            registration=registration,
            period=period,
            when=when,
            counts=counts,
            ref=f"{rng.getrandbits(256):064x}",
        )
        yield delivery_stream(registration, period), [staged, receipted], None
        digests = _random_digests(rng, shape.prior_datasets, shape.prior_records)
        yield (
            record_keys_stream(registration, period, 1),
            digest_events(registration, period, 1, digests),
            None,
        )


def delivery_batches(shape: HistoryShape, rng: random.Random) -> Iterator[Batch]:
    """The streams and events of every monthly delivery of the history."""
    for number in range(1, shape.registrations + 1):
        registration = f"{shape.registration_prefix}-{number:03d}"
        for offset in range(shape.months):
            period, start = _month(shape.first_month, offset)
            when = datetime.combine(start + timedelta(days=40), datetime.min.time(), UTC)
            key = f"{shape.provider}.{registration}.{period}.v1"
            refs = [_ref(rng) for _ in range(shape.patients_per_delivery)]
            run_id = f"{rng.getrandbits(48):012x}"
            counts = {"records": shape.patients_per_delivery}
            yield (
                applied_stream(registration),
                [
                    OptOutsApplied(
                        registration=registration,
                        period=period,
                        excluded_count=rng.randrange(0, 20),
                        considered_count=shape.patients_per_delivery + 20,
                        as_of=when.date(),
                        rules="whole-period from 2027-01-01",
                        occurred_at=when,
                    )
                ],
                None,
            )
            yield (
                validation_stream(registration, period),
                [
                    ValidationCompleted(
                        registration=registration,
                        period=period,
                        dictionary_id=registration,
                        dictionary_version="1",
                        provider_type="umc",
                        block_on="error",
                        passed=True,
                        blocked=False,
                        checks=40,
                        failed_errors=0,
                        failed_warnings=rng.randrange(0, 3),
                        rows=counts,
                        occurred_at=when,
                    )
                ],
                None,
            )
            yield (
                pseudonym_stream(registration, period),
                [
                    PseudonymisationCompleted(
                        registration=registration,
                        period=period,
                        run_id=run_id,
                        ttp_mode="online",
                        profile="default",
                        patients=shape.patients_per_delivery,
                        type_counts={"NGGV": shape.patients_per_delivery},
                        key_versions={"NGGV": 1},
                        batch_ids=(f"b-{run_id}",),
                        occurred_at=when,
                    )
                ],
                None,
            )
            staged, receipted = _receipted(
                shape,
                registration=registration,
                period=period,
                when=when,
                counts=counts,
                ref=f"{rng.getrandbits(256):064x}",
            )
            events: list[DomainEvent] = [staged]
            if rng.random() < 0.1:
                events.append(
                    DeliveryAttemptFailed(
                        registration=registration,
                        period=period,
                        idempotency_key=key,
                        attempt=1,
                        retryable=True,
                        reason="connection refused",
                        provider=shape.provider,
                        occurred_at=when,
                    )
                )
            events.append(receipted)
            yield delivery_stream(registration, period), events, None
            yield (
                contents_stream(registration, period, 1),
                delivery_contents_events(registration, period, 1, refs),
                None,
            )
            digests = _random_digests(rng, ("records",), shape.patients_per_delivery)
            yield (
                record_keys_stream(registration, period, 1),
                digest_events(registration, period, 1, digests),
                None,
            )


def optout_batches(
    shape: HistoryShape, rng: random.Random, refs: Sequence[str] = ()
) -> Iterator[Batch]:
    """One stream per opted-out patient: ``refs`` first, then random ones up to ``optouts``."""
    chosen = list(refs) + [_ref(rng) for _ in range(max(0, shape.optouts - len(refs)))]
    for ref in chosen:
        registered = shape.first_month + timedelta(days=rng.randrange(0, 30 * shape.months))
        everything = rng.random() < 0.8
        scope = frozenset() if everything else frozenset({f"{shape.registration_prefix}-001"})
        events: list[DomainEvent] = [
            OptOutRegistered(
                patient_ref=ref,
                registered_on=registered,
                all_registrations=everything,
                registrations=scope,
            )
        ]
        if rng.random() < 0.05:
            events.append(
                OptOutWithdrawn(
                    patient_ref=ref,
                    registered_on=registered,
                    all_registrations=everything,
                    registrations=scope,
                    withdrawn_on=registered + timedelta(days=rng.randrange(1, 400)),
                )
            )
        yield optout_stream(ref), events, None


def write_history(
    store: EventStore,
    shape: HistoryShape,
    *,
    optout_refs: Sequence[str] = (),
    streams_per_commit: int = 50_000,
) -> HistoryWritten:
    """Append the history through :meth:`EventStore.append_streams`, in commits of many streams.

    Why 50,000 streams a commit: a stream per patient has a random name and
    event id, so each commit rewrites index pages all over a large file; on a
    log of a million events, commits of 2,000 streams spent most of their time
    there (decision 1040). Nothing else writes to a log while it is built.
    """
    rng = random.Random(shape.seed)  # noqa: S311 - synthetic data, not secrets
    events = 0
    pending: list[Batch] = []

    def flush() -> None:
        nonlocal events
        events += len(store.append_streams(pending))
        pending.clear()

    for batches in (
        delivery_batches(shape, rng),
        prior_period_batches(shape, rng),
        optout_batches(shape, rng, optout_refs),
    ):
        for batch in batches:
            pending.append(batch)
            if len(pending) >= streams_per_commit:
                flush()
    flush()
    return HistoryWritten(events, shape.registrations * shape.months, shape.optouts)
