"""An abandoned outbox hand-over: never delivered, never confirmed, its content the next version.

The ledger side of decision 0843 (the CLI and a real run over https are in
``tests/e2e/test_abandoned_handover.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from tests.support.handover import PERIOD, REG, append_outbox_handover

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.handoff import abandon_handover, confirm_upload
from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import ConfigError
from aanlevering.events.factory import open_event_store
from aanlevering.events.store import EventStore
from aanlevering.periods import Period
from aanlevering.settings import checkout_root


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as opened:
        yield opened


def test_an_abandoned_hand_over_is_given_the_next_version(store: EventStore) -> None:
    from aanlevering.pipeline.operations import plan_for_fingerprint

    append_outbox_handover(store)
    with pytest.raises(ConfigError, match="reason"):
        abandon_handover(store, "h", REG, PERIOD, 1, reason="  ")
    abandon_handover(store, "h", REG, PERIOD, 1, reason="now over https")
    (entry,) = load_ledger(store).versions(REG, PERIOD)
    assert entry.status == "abandoned" and not entry.awaiting_upload and not entry.delivered
    assert entry.may_reach_holder  # it may have been uploaded after all
    assert entry.shown_accounting().delivered == 0
    assert PERIOD not in load_ledger(store).delivered_periods(REG)
    with pytest.raises(ConfigError, match="abandoned"):
        confirm_upload(store, "h", REG, PERIOD, 1, received_on=date(2026, 4, 11))
    with pytest.raises(ConfigError, match="abandoned already"):
        abandon_handover(store, "h", REG, PERIOD, 1, reason="again")

    root = checkout_root()
    assert root is not None
    config = load_catalogue(str(root / "schemas" / "catalogue")).get(REG)
    plan = plan_for_fingerprint(config, store, Period.parse(PERIOD), "same", provider="h")
    assert (plan.version, plan.same) == (2, None)  # never resent under the abandoned key


def test_only_an_unconfirmed_hand_over_is_abandoned(store: EventStore) -> None:
    append_outbox_handover(store)
    confirm_upload(store, "h", REG, PERIOD, 1, received_on=date(2026, 4, 11))
    with pytest.raises(ConfigError, match="not an unconfirmed outbox hand-over"):
        abandon_handover(store, "h", REG, PERIOD, 1, reason="too late")
    (entry,) = load_ledger(store).versions(REG, PERIOD)
    assert entry.delivered
