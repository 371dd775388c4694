"""The embedded default backend: one SQLite file, safe for many processes.

WAL mode lets readers run while a writer commits; ``busy_timeout`` makes a
writer wait for the lock instead of failing; ``BEGIN IMMEDIATE`` takes the
write lock before the first read of a transaction, which serialises appends
across processes (Airflow runs each task in its own process) and makes
``max(position) + 1`` safe. ``synchronous=FULL``: a commit survives power loss.
Triggers refuse UPDATE and DELETE, so the log stays append-only even for
someone with a SQL shell (short of dropping the triggers).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from aanlevering.errors import EventStoreError
from aanlevering.events.model import RecordedEvent
from aanlevering.events.sqlbase import COLUMNS, Row, SqlEventStore, WriteTransaction
from aanlevering.events.store import PendingEvent

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA_V1 = (
    """
    CREATE TABLE IF NOT EXISTS event_log (
        position INTEGER PRIMARY KEY CHECK (position > 0),
        event_id TEXT NOT NULL UNIQUE,
        stream TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version > 0),
        event_type TEXT NOT NULL,
        schema_version INTEGER NOT NULL CHECK (schema_version > 0),
        occurred_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        metadata TEXT NOT NULL,
        UNIQUE (stream, version)
    ) STRICT
    """,
)
# Made again on every open (a no-op when present): a file restored from a data-only dump,
# or whose triggers someone dropped, is append-only again from its next open (decision 0454).
_TRIGGERS = (
    """
    CREATE TRIGGER IF NOT EXISTS event_log_refuse_update BEFORE UPDATE ON event_log
    BEGIN SELECT RAISE(ABORT, 'event_log is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS event_log_refuse_delete BEFORE DELETE ON event_log
    BEGIN SELECT RAISE(ABORT, 'event_log is append-only: DELETE refused'); END
    """,
)
# Indexes only (no change of what is stored, so no schema version): the projections a run
# needs read one kind of event, not the whole log (decision 0250). Added to older files on open.
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS event_log_type_position ON event_log (event_type, position)",
)


class _Tx:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def query(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return self._connection.execute(sql, tuple(params)).fetchall()

    def insert_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._connection.executemany(sql, [tuple(row) for row in rows])


class SqliteEventStore(SqlEventStore):
    """The event log in one SQLite file (created with its directory when missing)."""

    INSERT_SQL = f"INSERT INTO event_log ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608

    def __init__(self, path: Path, *, busy_timeout_seconds: float = 60.0) -> None:
        self.path = path
        self._busy_timeout = busy_timeout_seconds
        self._connection: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(
                path, timeout=busy_timeout_seconds, isolation_level=None
            )
            self._configure()
            self._ensure_schema()
        except (sqlite3.Error, OSError) as error:
            self.close()
            raise EventStoreError(f"cannot open the SQLite event log {path}: {error}") from error
        except BaseException:
            self.close()
            raise

    def open_another(self) -> SqliteEventStore:
        """The same SQLite file through a connection of its own."""
        return SqliteEventStore(self.path, busy_timeout_seconds=self._busy_timeout)

    def __repr__(self) -> str:
        return f"SqliteEventStore({str(self.path)!r})"

    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise EventStoreError(f"the event store {self.path} is closed")
        return self._connection

    def _configure(self) -> None:
        connection = self._conn()
        connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        # Switching to WAL needs a moment of exclusive access; on a fresh file several
        # processes may try at once, and that pragma does not always wait on its own.
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        if str(mode).lower() != "wal":
            raise EventStoreError(
                f"SQLite event log {self.path}: could not enable WAL mode ({mode})"
            )
        connection.execute("PRAGMA synchronous = FULL")

    def _ensure_schema(self) -> None:
        with self._write_transaction():
            connection = self._conn()
            current = int(connection.execute("PRAGMA user_version").fetchone()[0])
            if current > SCHEMA_VERSION:
                raise EventStoreError(
                    f"SQLite event log {self.path} has schema version {current}, newer than this "
                    f"code's {SCHEMA_VERSION}; upgrade aanlevering"
                )
            if current < 1:
                for statement in _SCHEMA_V1:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                log.info("created event log schema v%d in %s", SCHEMA_VERSION, self.path)
            for statement in (*_TRIGGERS, *_INDEXES):
                connection.execute(statement)

    @contextmanager
    def _write_transaction(self) -> Iterator[WriteTransaction]:
        connection = self._conn()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise EventStoreError(
                f"SQLite event log {self.path}: cannot start a write: {error}"
            ) from error
        try:
            yield _Tx(connection)
        except sqlite3.Error as error:
            connection.execute("ROLLBACK")
            raise EventStoreError(f"SQLite event log {self.path}: write failed: {error}") from error
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        try:
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise EventStoreError(
                f"SQLite event log {self.path}: commit failed: {error}"
            ) from error

    def _query(self, sql: str, params: Sequence[Any]) -> list[Row]:
        try:
            return self._conn().execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as error:
            raise EventStoreError(f"SQLite event log {self.path}: read failed: {error}") from error

    def _id_param(self, event_id: UUID) -> Any:
        return str(event_id)

    def _insert_row(
        self,
        *,
        position: int,
        stream: str,
        version: int,
        pending: PendingEvent,
        recorded_at: datetime,
        metadata_json: str,
    ) -> Sequence[Any]:
        return (
            position,
            str(pending.event_id),
            stream,
            version,
            pending.event_type,
            pending.schema_version,
            pending.occurred_at.isoformat(timespec="microseconds"),
            recorded_at.isoformat(timespec="microseconds"),
            pending.payload_json,
            metadata_json,
        )

    def _record(self, row: Row) -> RecordedEvent:
        (
            position,
            event_id,
            stream,
            version,
            event_type,
            schema_version,
            occurred,
            recorded,
            payload,
            metadata,
        ) = row
        where = f"event at position {position} (stream {stream!r}, version {version})"
        try:
            return RecordedEvent(
                position=int(position),
                event_id=UUID(event_id),
                stream=str(stream),
                version=int(version),
                event_type=str(event_type),
                schema_version=int(schema_version),
                occurred_at=datetime.fromisoformat(occurred),
                recorded_at=datetime.fromisoformat(recorded),
                payload=json.loads(payload),
                metadata=json.loads(metadata),
            )
        except json.JSONDecodeError as error:
            # Line and column only: the error's document is the payload.
            raise EventStoreError(
                f"SQLite event log {self.path}: {where}: payload or metadata is not valid JSON "
                f"(line {error.lineno}, column {error.colno})"
            ) from None
        except (TypeError, ValueError):
            raise EventStoreError(
                f"SQLite event log {self.path}: {where}: event id or time is malformed"
            ) from None

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
