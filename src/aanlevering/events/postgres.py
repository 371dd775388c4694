"""The production backend: PostgreSQL through psycopg 3.

Appends run in a transaction that first takes a transaction-level advisory
lock belonging to this ``event_log`` table: writers queue one at a time,
readers (plain SELECTs) are not blocked. That serialisation is what makes
``position = max + 1`` gap-free and visible in commit order; a sequence would
leave gaps on rollback and let a later position commit before an earlier one,
so a projection could skip an event for good. An advisory lock rather than
``LOCK TABLE ... IN EXCLUSIVE MODE`` because that needs UPDATE or DELETE
privilege, and production runs as a role that has only SELECT and INSERT.
A statement-level trigger refuses UPDATE, DELETE and TRUNCATE as well.

The schema is created on first open under another advisory lock, so several
processes opening a fresh database at once do not race. The table goes into
the first schema of the connection's ``search_path`` (set it with
``?options=-csearch_path%3Daanlevering`` in the URL to keep it apart).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import psycopg
import psycopg.errors

from aanlevering.errors import EventStoreError
from aanlevering.events.model import RecordedEvent
from aanlevering.events.sqlbase import COLUMNS, Row, SqlEventStore, WriteTransaction
from aanlevering.events.store import PendingEvent

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# pg_advisory_xact_lock key for schema creation: "aanlevering event log" as a fixed 63-bit number.
_SCHEMA_LOCK_KEY = 0x61616E6C65766572
# Append lock: "aanl" in the high 32 bits, the event_log table's oid in the low 32 bits, so
# two logs in one database (other schemas) do not wait for each other and the key can not
# meet the small lock ids other applications (Airflow) use.
_APPEND_LOCK_CLASS = 0x61616E6C
_LOCK_TIMEOUT = "60s"

_SCHEMA_V1 = (
    """
    CREATE TABLE event_log (
        position bigint PRIMARY KEY CHECK (position > 0),
        event_id uuid NOT NULL UNIQUE,
        stream text NOT NULL CHECK (length(stream) BETWEEN 1 AND 200),
        version integer NOT NULL CHECK (version > 0),
        event_type text NOT NULL,
        schema_version integer NOT NULL CHECK (schema_version > 0),
        occurred_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL,
        payload jsonb NOT NULL,
        metadata jsonb NOT NULL,
        CONSTRAINT event_log_stream_version UNIQUE (stream, version)
    )
    """,
    """
    CREATE FUNCTION event_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'event_log is append-only: % refused', TG_OP
            USING HINT = 'record a new event that corrects the earlier one';
    END
    $$
    """,
    """
    CREATE TRIGGER event_log_append_only
        BEFORE UPDATE OR DELETE OR TRUNCATE ON event_log
        FOR EACH STATEMENT EXECUTE FUNCTION event_log_refuse_change()
    """,
)
# The append-only guard again, for a log whose trigger was dropped or disabled (a restore from
# a data-only dump, a "quick fix" in a SQL shell): checked on every open (decision 0454).
_GUARD = (
    """
    CREATE OR REPLACE FUNCTION event_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'event_log is append-only: % refused', TG_OP
            USING HINT = 'record a new event that corrects the earlier one';
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS event_log_append_only ON event_log",
    """
    CREATE TRIGGER event_log_append_only
        BEFORE UPDATE OR DELETE OR TRUNCATE ON event_log
        FOR EACH STATEMENT EXECUTE FUNCTION event_log_refuse_change()
    """,
)
_GUARD_IN_FORCE = """
    SELECT EXISTS (
        SELECT 1 FROM pg_trigger
        WHERE tgrelid = 'event_log'::regclass AND tgname = 'event_log_append_only'
          AND tgenabled <> 'D'
    )
"""
# Indexes only (no change of what is stored, so no schema version): the projections a run
# needs read one kind of event, not the whole log (decision 0250). Added to older logs on open.
_INDEXES = (
    (
        "event_log_type_position",
        "CREATE INDEX IF NOT EXISTS event_log_type_position ON event_log (event_type, position)",
    ),
    # Byte-order comparisons whatever the database's collation (a locale collation may
    # ignore punctuation), for the stream-prefix reads (decision 0497).
    (
        "event_log_stream_bytes",
        "CREATE INDEX IF NOT EXISTS event_log_stream_bytes ON event_log (stream text_pattern_ops)",
    ),
)


def describe_url(url: str) -> str:
    """``host:port/dbname`` of a PostgreSQL URL: enough to find it, no credentials."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path or '/'}"


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


def _message(error: psycopg.Error) -> str:
    primary = error.diag.message_primary if hasattr(error, "diag") else None
    return primary or str(error).strip() or type(error).__name__


class _Tx:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def query(self, sql: str, params: Sequence[Any]) -> list[Row]:
        with self._connection.cursor() as cursor:
            cursor.execute(_pg(sql), list(params))
            return list(cursor.fetchall()) if cursor.description else []

    def insert_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._connection.cursor() as cursor:
            cursor.executemany(_pg(sql), [list(row) for row in rows])


class PostgresEventStore(SqlEventStore):
    """The event log in a PostgreSQL database given by a ``postgresql://`` URL."""

    # text_pattern_ops comparisons: byte order, served by event_log_stream_bytes.
    _STREAM_RANGE = "stream ~>=~ ? AND stream ~<~ ?"

    INSERT_SQL = (
        f"INSERT INTO event_log ({COLUMNS}) "  # noqa: S608 - constant column list
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb), CAST(? AS jsonb))"
    )

    def __init__(self, url: str, *, connect_timeout_seconds: int = 10) -> None:
        self._url = url
        self._where = describe_url(url)
        self._connect_timeout = connect_timeout_seconds
        self._closed = False
        self._append_lock_key = 0
        self._connection: psycopg.Connection[Any] | None = None
        try:
            self._ensure_schema()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresEventStore({self._where!r})"

    def _conn(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise EventStoreError(f"the event store at {self._where} is closed")
        if self._connection is None or self._connection.closed or self._connection.broken:
            try:
                self._connection = psycopg.connect(
                    self._url,
                    autocommit=True,
                    connect_timeout=self._connect_timeout,
                    application_name="aanlevering-events",
                )
                self._connection.execute(f"SET lock_timeout = '{_LOCK_TIMEOUT}'")
                self._connection.execute("SET TIME ZONE 'UTC'")
            except psycopg.Error as error:
                raise EventStoreError(
                    f"cannot connect to the PostgreSQL event log at {self._where}: "
                    f"{_message(error)}"
                ) from error
        return self._connection

    def _installed_version(self, connection: psycopg.Connection[Any]) -> int:
        row = connection.execute("SELECT to_regclass('event_log_schema') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        row = connection.execute(
            "SELECT COALESCE(MAX(version), 0) FROM event_log_schema"
        ).fetchone()
        return int(row[0]) if row else 0

    def _ensure_schema(self) -> None:
        """Create or upgrade the schema once; a current schema needs no CREATE privilege.

        The read-only check first lets production run as a role with only
        SELECT and INSERT; creation happens under an advisory lock so processes
        opening a fresh database together do not race.
        """
        connection = self._conn()
        try:
            current = self._installed_version(connection)
            if current < SCHEMA_VERSION:
                with connection.transaction():
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK_KEY])
                    connection.execute(
                        "CREATE TABLE IF NOT EXISTS event_log_schema (version integer PRIMARY KEY,"
                        " applied_at timestamptz NOT NULL DEFAULT now())"
                    )
                    current = self._installed_version(connection)
                    if current < 1:
                        for statement in _SCHEMA_V1:
                            connection.execute(statement)
                        connection.execute(
                            "INSERT INTO event_log_schema (version) VALUES (%s)", [SCHEMA_VERSION]
                        )
                        log.info("created event log schema v%d at %s", SCHEMA_VERSION, self._where)
                        current = SCHEMA_VERSION
            self._ensure_guard(connection)
            self._ensure_indexes(connection)
        except psycopg.Error as error:
            raise EventStoreError(
                f"cannot create the event log schema at {self._where}: {_message(error)}"
            ) from error
        if current > SCHEMA_VERSION:
            raise EventStoreError(
                f"PostgreSQL event log at {self._where} has schema version {current}, newer "
                f"than this code's {SCHEMA_VERSION}; upgrade aanlevering"
            )
        row = connection.execute("SELECT 'event_log'::regclass::oid::bigint").fetchone()
        assert row is not None
        self._append_lock_key = (_APPEND_LOCK_CLASS << 32) | int(row[0])

    def _ensure_guard(self, connection: psycopg.Connection[Any]) -> None:
        """Put the append-only trigger back when it is missing or disabled (decision 0454).

        Production's application role may not (it has only SELECT and INSERT,
        so it can not change history either): it logs an error naming what
        the owner must do, and goes on.
        """
        row = connection.execute(_GUARD_IN_FORCE).fetchone()
        if row and row[0]:
            return
        try:
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK_KEY])
                for statement in _GUARD:
                    connection.execute(statement)
            log.warning(
                "event log at %s had no append-only trigger in force; it is back", self._where
            )
        except psycopg.errors.InsufficientPrivilege:
            log.error(
                "event log at %s has no append-only trigger in force; open it once as its "
                "owner to put it back (docs/event-log.md)",
                self._where,
            )

    def _ensure_indexes(self, connection: psycopg.Connection[Any]) -> None:
        """Add missing indexes; a role that may not create them keeps working, slower.

        Production's application role has only SELECT and INSERT: the owner
        adds them once by opening the store (docs/event-log.md). Until then
        every read still answers correctly, by scanning instead.
        """
        for name, statement in _INDEXES:
            row = connection.execute("SELECT to_regclass(%s) IS NOT NULL", [name]).fetchone()
            if row and row[0]:
                continue
            try:
                with connection.transaction():
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK_KEY])
                    connection.execute(statement)
                log.info("added index %s to the event log at %s", name, self._where)
            except psycopg.errors.InsufficientPrivilege:
                log.warning(
                    "event log at %s has no index %s; open it once as its owner to add it "
                    "(reads stay correct, projections scan the log until then)",
                    self._where,
                    name,
                )

    @contextmanager
    def _write_transaction(self) -> Iterator[WriteTransaction]:
        connection = self._conn()
        try:
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", [self._append_lock_key])
                yield _Tx(connection)
        except psycopg.errors.LockNotAvailable as error:
            raise EventStoreError(
                f"PostgreSQL event log at {self._where}: no write lock within {_LOCK_TIMEOUT}"
            ) from error
        except psycopg.Error as error:
            raise EventStoreError(
                f"PostgreSQL event log at {self._where}: write failed: {_message(error)}"
            ) from error

    def _query(self, sql: str, params: Sequence[Any]) -> list[Row]:
        try:
            with self._conn().cursor() as cursor:
                cursor.execute(_pg(sql), list(params))
                return list(cursor.fetchall())
        except psycopg.Error as error:
            raise EventStoreError(
                f"PostgreSQL event log at {self._where}: read failed: {_message(error)}"
            ) from error

    def _id_param(self, event_id: UUID) -> Any:
        return event_id

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
            pending.event_id,
            stream,
            version,
            pending.event_type,
            pending.schema_version,
            pending.occurred_at,
            recorded_at,
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
        return RecordedEvent(
            position=int(position),
            event_id=event_id if isinstance(event_id, UUID) else UUID(str(event_id)),
            stream=str(stream),
            version=int(version),
            event_type=str(event_type),
            schema_version=int(schema_version),
            occurred_at=occurred.astimezone(UTC),
            recorded_at=recorded.astimezone(UTC),
            payload=payload,
            metadata=metadata,
        )

    def open_another(self) -> PostgresEventStore:
        """The same database (and schema) through a connection of its own."""
        return PostgresEventStore(self._url, connect_timeout_seconds=self._connect_timeout)

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        self._closed = True
        if self._connection is not None:
            self._connection.close()
            self._connection = None
