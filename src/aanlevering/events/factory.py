"""Open the event store a URL names: the one switch between embedded and production.

``sqlite:///var/lib/aanlevering/events.sqlite3`` (the path is always absolute;
``sqlite:////abs/path`` means the same) or ``postgresql://user@host/db``.
Settings supply the URL (``AANLEVERING_EVENT_STORE``); nothing else in the
code knows which backend runs.
"""

from __future__ import annotations

from pathlib import Path

from aanlevering.errors import ConfigError
from aanlevering.events.store import EventStore

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def open_event_store(url: str) -> EventStore:
    """Open (and on first use create) the event store at ``url``.

    Raises :class:`ConfigError` for a URL this product can not use and
    :class:`EventStoreError` when the store itself can not be opened.
    """
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        if not url.startswith(_SQLITE_PREFIX) or not url[len(_SQLITE_PREFIX) :].strip("/"):
            raise ConfigError(
                "event store URL: SQLite URLs look like sqlite:///absolute/path/events.sqlite3"
            )
        from aanlevering.events.sqlite import SqliteEventStore

        return SqliteEventStore(Path("/" + url[len(_SQLITE_PREFIX) :].lstrip("/")))
    if scheme in _POSTGRES_SCHEMES:
        from aanlevering.events.postgres import PostgresEventStore

        return PostgresEventStore("postgresql" + url[len(scheme) :])
    raise ConfigError(
        f"event store URL: unsupported scheme {scheme!r}; use sqlite:///path or postgresql://..."
    )
