"""A decision feed URL's token or password is never printed, logged or recorded (0731).

A registry's feed may be reached with ``?token=...`` or ``user:pass@host``: the
URL on the terminal, in the log or in the ingest's event metadata would keep the
secret in scroll-back, log files and the append-only log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from aanlevering.cli.main import main
from aanlevering.events import open_event_store
from aanlevering.settings import load_settings
from support.servers import PYTHON, ServerProcess, running_server

TOKEN = "s3cr3t-feed-token"
PASSWORD = "pw-of-the-feed"
FEED = [{"registration": "dica-dsaa", "decision": "rejected", "decided_on": "2026-04-15"}]


@pytest.fixture(scope="module")
def feed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("feeds")
    (root / "health").write_text("ok", encoding="utf-8")
    (root / "decisions.json").write_text(json.dumps(FEED), encoding="utf-8")
    argv = [PYTHON, "-m", "http.server", "{port}", "--bind", "127.0.0.1", "--directory", str(root)]
    with running_server(argv, log_path=root.parent / "feed-server.log") as server:
        yield server


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AANLEVERING_EVENT_STORE", raising=False)
    return tmp_path / "home"


def _with_secrets(url: str, name: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://feeduser:{PASSWORD}@{rest}/{name}?token={TOKEN}"


def _event_log(home: Path) -> str:
    with open_event_store(load_settings().event_store_url) as store:
        records = [f"{r.stream} {r.payload} {r.metadata}" for r in store.read_all()]
    raw = b"".join(path.read_bytes() for path in home.rglob("events.sqlite3*"))
    return "\n".join(records) + raw.decode("utf-8", errors="replace")


def _secrets_in(text: str) -> list[str]:
    return [secret for secret in (TOKEN, PASSWORD) if secret in text]


def test_an_ingested_feed_urls_secrets_are_not_printed_logged_or_recorded(
    feed_server: ServerProcess,
    home: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert main(["register", "ingest", _with_secrets(feed_server.url, "decisions.json")]) == 0

    out, err = capsys.readouterr()
    assert "1 decision(s) read: 1 recorded" in out
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "decisions.json" in logged  # the feed is still named
    recorded = _event_log(home)
    assert "register ingest" in recorded
    assert _secrets_in(out + err + logged + recorded) == []


def test_a_failing_feed_urls_secrets_are_not_in_the_error(
    feed_server: ServerProcess, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["register", "ingest", _with_secrets(feed_server.url, "missing.json")]) == 2

    _, err = capsys.readouterr()
    assert "missing.json" in err and "404" in err
    assert _secrets_in(err) == []
