"""A log whose append-only trigger was dropped gets it back when it is next opened.

Why it matters: the triggers are what keep a SQL shell from rewriting history
(decision 0012). A file or schema restored from a data-only dump, or a
trigger dropped "for a quick fix", left the log open to UPDATE and DELETE for
good, since the triggers were only created with the table.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from aanlevering.events import open_event_store
from support.event_examples import ExampleDeliveryReceipted

STREAM = "delivery-nkr-borst-2026"
RECEIPT = ExampleDeliveryReceipted(
    registration="nkr-borst", period="2026", receipt_id="rcpt-1", record_count=101
)


def _execute(url: str, statement: str) -> None:
    if url.startswith("sqlite"):
        connection = sqlite3.connect(Path("/" + url[len("sqlite:///") :].lstrip("/")))
        try:
            connection.execute(statement)
            connection.commit()
        finally:
            connection.close()
        return
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(statement)


DROP = {
    "sqlite": (
        "DROP TRIGGER event_log_refuse_update",
        "DROP TRIGGER event_log_refuse_delete",
    ),
    "postgres": ("DROP TRIGGER event_log_append_only ON event_log",),
}


def test_a_dropped_trigger_is_back_after_the_next_open(store_url: str) -> None:
    with open_event_store(store_url) as store:
        store.append(STREAM, [RECEIPT], 0)
    for statement in DROP["sqlite" if store_url.startswith("sqlite") else "postgres"]:
        _execute(store_url, statement)
    open_event_store(store_url).close()  # the next process that opens the log
    with pytest.raises(Exception, match="append-only: UPDATE refused"):
        _execute(store_url, "UPDATE event_log SET stream = 'rewritten'")
    with pytest.raises(Exception, match="append-only: DELETE refused"):
        _execute(store_url, "DELETE FROM event_log")
    with open_event_store(store_url) as store:
        assert [r.stream for r in store.read_all()] == [STREAM]


def test_a_disabled_postgres_trigger_is_enabled_again(postgres_schema_url: str) -> None:
    url = postgres_schema_url
    with open_event_store(url) as store:
        store.append(STREAM, [RECEIPT], 0)
    _execute(url, "ALTER TABLE event_log DISABLE TRIGGER event_log_append_only")
    open_event_store(url).close()
    with pytest.raises(Exception, match="append-only: TRUNCATE refused"):
        _execute(url, "TRUNCATE event_log")
    with open_event_store(url) as store:
        assert store.last_position() == 1
