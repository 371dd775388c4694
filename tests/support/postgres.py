"""A real, throwaway PostgreSQL cluster for the test session.

``postgres_url`` (session): ``$AANLEVERING_TEST_POSTGRES_URL`` when set,
otherwise a cluster made with ``initdb`` in a temporary directory and started
with ``pg_ctl`` on a free 127.0.0.1 port (unix socket in the same directory),
run as the ``postgres`` OS user when the tests run as root. It is stopped and
removed at the end of the session. Missing server binaries fail the tests with
a hint (``make system-deps``); they never skip.

``postgres_schema_url`` (per test): a fresh, empty schema in that database,
selected through ``search_path`` in the URL's ``options``, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

ENV_URL = "AANLEVERING_TEST_POSTGRES_URL"
ENV_BINDIR = "AANLEVERING_TEST_POSTGRES_BINDIR"
DATABASE = "aanlevering_test"
SERVER_USER = "postgres"


def find_bindir() -> Path | None:
    """Directory holding initdb/pg_ctl: $AANLEVERING_TEST_POSTGRES_BINDIR, Debian's layout, PATH."""
    if os.environ.get(ENV_BINDIR):
        return Path(os.environ[ENV_BINDIR])

    def major(path: Path) -> int:
        match = re.fullmatch(r"\d+", path.parent.parent.name)
        return int(match.group()) if match else 0

    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=major, reverse=True)
    if debian:
        return debian[0].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``search_path`` set to ``schema`` through libpq's ``options`` parameter."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    options = query.get("options", "")
    query["options"] = f"{options} -csearch_path={schema}".strip()
    return urlunsplit(parts._replace(query=urlencode(query)))


class ThrowawayCluster:
    """initdb + pg_ctl in a temporary directory; ``stop()`` removes everything."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="aanlevering-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self._as_server_user: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root: hand the directory to the postgres OS user.
            try:
                account = pwd.getpwnam(SERVER_USER)
            except KeyError:
                pytest.fail(
                    f"running as root but there is no '{SERVER_USER}' OS user to run PostgreSQL"
                )
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as_server_user = ["runuser", "-u", SERVER_USER, "--"]

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as_server_user, *args], capture_output=True, text=True, timeout=120, check=False
        )

    def start(self) -> None:
        """initdb, then pg_ctl start on a free port (retried if another process took the port)."""
        done = self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", SERVER_USER, "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"initdb failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        for _attempt in range(3):
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            started = self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                "-w", "-t", "60", "-o", options, "start",
            )  # fmt: skip
            if started.returncode == 0:
                return
        log_tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        pytest.fail(f"pg_ctl start failed:\n{started.stdout}\n{started.stderr}\n{log_tail}")

    def url(self, database: str) -> str:
        """A TCP URL for ``database`` as the superuser (trust authentication, loopback only)."""
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        if self.data.exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a database on a real PostgreSQL server for this test session."""
    external = os.environ.get(ENV_URL)
    if external:
        yield external
        return
    bindir = find_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found. Install them with "
            "`make system-deps` (scripts/ensure-system-packages.sh), point "
            f"{ENV_BINDIR} at their directory, or set {ENV_URL} to an existing database."
        )
    cluster = ThrowawayCluster(bindir)
    try:
        cluster.start()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        yield cluster.url(DATABASE)
    finally:
        cluster.stop()


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """URL whose ``search_path`` is a new, empty schema of its own (dropped after the test)."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield with_search_path(postgres_url, schema)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def as_role(url: str, user: str, password: str) -> str:
    """``url`` with another user and password (same host, port, database and options)."""
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


@dataclass(frozen=True)
class OwnerAndApp:
    """Two login roles on one schema: the owner may create, the application role may not."""

    owner_url: str
    app_url: str
    app: str


@contextlib.contextmanager
def owner_and_app_roles(url: str, prefix: str) -> Iterator[OwnerAndApp]:
    """The production split of docs/event-log.md on the schema of ``url``; roles dropped after.

    The owner gets USAGE and CREATE on the schema, the application role USAGE
    only; the test grants the table privileges it wants to try.
    """
    suffix = uuid.uuid4().hex[:8]
    owner, app, password = f"{prefix}_owner_{suffix}", f"{prefix}_app_{suffix}", f"pw-{suffix}"
    with psycopg.connect(url) as probe:
        row = probe.execute("SELECT current_schema()").fetchone()
    assert row is not None
    schema = row[0]
    admin = psycopg.connect(url, autocommit=True)
    try:
        for role in (owner, app):
            admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        admin.execute(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {owner}")
        admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {app}")
        yield OwnerAndApp(as_role(url, owner, password), as_role(url, app, password), app)
    finally:
        for role in (app, owner):
            admin.execute(f"DROP OWNED BY {role} CASCADE")
            admin.execute(f"DROP ROLE {role}")
        admin.close()
