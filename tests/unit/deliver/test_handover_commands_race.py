"""confirm-upload and abandon-handover racing each other (or a run) never both "succeed".

Both read the period's ledger, check the version, then append. The fold keeps the
first fact (an abandoned version is never confirmed, a confirmed one never
abandoned), but the command that lost the race printed "confirmed: it now counts as
delivered" and rewrote the version's hospital report as delivered while the log
said abandoned: a false "delivered". The append now requires the stream to be where
it was read (decision 0883); the loser records nothing and says why.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest
from tests.support.handover import KEY, PERIOD, REG, append_outbox_handover

from aanlevering.deliver.events import (
    DeliveryAttemptFailed,
    DeliveryReceipted,
    DeliveryStaged,
    HandOffAbandoned,
    HandOffConfirmed,
    delivery_stream,
)
from aanlevering.deliver.handoff import abandon_handover, confirm_upload
from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import ConfigError
from aanlevering.events.factory import open_event_store
from aanlevering.events.model import DomainEvent
from aanlevering.events.store import EventStore

STREAM = delivery_stream(REG, PERIOD)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as opened:
        append_outbox_handover(opened)
        yield opened


class _Overtaken:
    """The store, where another writer appends ``first`` just before this command does."""

    def __init__(self, store: EventStore, first: DomainEvent) -> None:
        self._store = store
        self._first: DomainEvent | None = first

    def append(
        self, stream: str, events: Sequence[DomainEvent], expected: int | None, **kw: Any
    ) -> Any:
        if self._first is not None:
            self._store.append(stream, [self._first], None)
            self._first = None
        return self._store.append(stream, events, expected, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _abandoned() -> HandOffAbandoned:
    return HandOffAbandoned(
        registration=REG, period=PERIOD, version=1, idempotency_key=KEY, reason="over https"
    )


def _confirmed() -> HandOffConfirmed:
    return HandOffConfirmed(
        registration=REG, period=PERIOD, version=1, idempotency_key=KEY, received_on="2026-04-11"
    )


def test_a_confirm_overtaken_by_an_abandon_records_nothing_and_says_so(store: EventStore) -> None:
    racing = cast(EventStore, _Overtaken(store, _abandoned()))
    with pytest.raises(ConfigError, match="changed while"):
        confirm_upload(racing, "h", REG, PERIOD, 1, received_on=date(2026, 4, 11))
    (entry,) = load_ledger(store).versions(REG, PERIOD)
    assert entry.status == "abandoned" and not entry.delivered and not entry.confirmed_on
    assert [r.event_type for r in store.read_stream(STREAM)][-1] == "deliver.HandOffAbandoned"


def test_an_abandon_overtaken_by_a_confirm_records_nothing_and_says_so(store: EventStore) -> None:
    racing = cast(EventStore, _Overtaken(store, _confirmed()))
    with pytest.raises(ConfigError, match="changed while"):
        abandon_handover(racing, "h", REG, PERIOD, 1, reason="now over https")
    (entry,) = load_ledger(store).versions(REG, PERIOD)
    assert entry.delivered and entry.confirmed_on == "2026-04-11"
    assert [r.event_type for r in store.read_stream(STREAM)][-1] == "deliver.HandOffConfirmed"


def test_unraced_commands_still_record(store: EventStore) -> None:
    entry = confirm_upload(store, "h", REG, PERIOD, 1, received_on=date(2026, 4, 11))
    assert entry.confirmed_on == "2026-04-11"
    with pytest.raises(ConfigError, match="upload confirmed on 2026-04-11"):
        abandon_handover(store, "h", REG, PERIOD, 1, reason="now over https")


def test_a_version_the_registry_holder_receipted_or_a_mismatch_is_never_confirmed_or_abandoned(
    tmp_path: Path,
) -> None:
    """Attacks that held (pinned): v1 receipted by the registry holder over https, v2 whose
    receipt did not match (0842), and versions of another registration or period."""
    with open_event_store(f"sqlite:///{tmp_path / 'https.sqlite3'}") as store:
        keys = {1: "h.dica-dsaa.2026-Q1.v1", 2: "h.dica-dsaa.2026-Q1.v2"}
        for version, key in keys.items():
            common = {"registration": REG, "period": PERIOD, "idempotency_key": key}
            staged = DeliveryStaged(
                **common, version=version, channel="https", format="csv", content_sha256=key
            )
            store.append(STREAM, [staged], None)
        store.append(
            STREAM,
            [
                DeliveryReceipted(
                    registration=REG,
                    period=PERIOD,
                    idempotency_key=keys[1],
                    version=1,
                    receipt_id="r-holder",
                    receiver="dica",
                    channel="https",
                    received_at="2026-04-10T10:00:00+00:00",
                ),
                DeliveryAttemptFailed(
                    registration=REG,
                    period=PERIOD,
                    idempotency_key=keys[2],
                    attempt=1,
                    retryable=False,
                    reason="receipt did not match",
                    receipt_mismatch=True,
                ),
            ],
            None,
        )
        before = store.stream_version(STREAM)
        for version in (1, 2):
            with pytest.raises(ConfigError, match="not an unconfirmed outbox hand-over"):
                abandon_handover(store, "h", REG, PERIOD, version, reason="over https")
            with pytest.raises(ConfigError, match="not a version placed in an outbox"):
                confirm_upload(store, "h", REG, PERIOD, version, received_on=date(2026, 4, 11))
        for registration, period in ((REG, "2026-Q2"), ("ldtr", PERIOD)):
            with pytest.raises(ConfigError, match="no such version"):
                abandon_handover(store, "h", registration, period, 1, reason="over https")
            with pytest.raises(ConfigError, match="no such version"):
                confirm_upload(store, "h", registration, period, 1, received_on=date(2026, 4, 11))
        assert store.stream_version(STREAM) == before  # nothing recorded
