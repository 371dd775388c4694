"""The decision feed fetched from a real HTTP server process on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from aanlevering.cli.main import main
from aanlevering.errors import ConfigError
from aanlevering.obligation.feed import FeedInvalid, read_feed
from support.servers import PYTHON, ServerProcess, running_server

FEED = [
    {
        "registration": "nkr-borst",
        "decision": "included",
        "decided_on": "2026-03-01",
        "term_years": 5,
    },
    {"registration": "dica-dsaa", "decision": "rejected", "decided_on": "2026-04-15"},
]


@pytest.fixture(scope="module")
def feed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("feeds")
    (root / "health").write_text("ok", encoding="utf-8")
    (root / "decisions.json").write_text(json.dumps(FEED), encoding="utf-8")
    (root / "decisions.yaml").write_text(
        "decisions:\n" + "".join(f"  - {json.dumps(item)}\n" for item in FEED), encoding="utf-8"
    )
    (root / "decisions.csv").write_text(
        "registration;decision;decided_on;term_years\n"
        "nkr-borst;included;01-03-2026;5\n"
        "dica-dsaa;rejected;15-04-2026;\n",
        encoding="utf-8",
    )
    (root / "besluiten").write_text(json.dumps(FEED), encoding="utf-8")  # no suffix: sniffed
    (root / "broken.csv").write_text(
        "registration;decision;decided_on\nnkr-borst;included;2026-03-01\n", encoding="utf-8"
    )
    argv = [PYTHON, "-m", "http.server", "{port}", "--bind", "127.0.0.1", "--directory", str(root)]
    with running_server(argv, log_path=root.parent / "feed-server.log") as server:
        yield server


@pytest.mark.parametrize("name", ["decisions.json", "decisions.yaml", "decisions.csv", "besluiten"])
def test_feed_is_read_from_a_url(feed_server: ServerProcess, name: str) -> None:
    decisions = read_feed(f"{feed_server.url}/{name}")
    assert [(d.registration, d.kind, d.decided_on, d.term_years) for d in decisions] == [
        ("nkr-borst", "included", date(2026, 3, 1), 5),
        ("dica-dsaa", "rejected", date(2026, 4, 15), None),
    ]


def test_http_errors_and_bad_rows_are_config_errors(feed_server: ServerProcess) -> None:
    with pytest.raises(ConfigError, match="HTTP 404, expected 200"):
        read_feed(f"{feed_server.url}/missing.json")
    with pytest.raises(FeedInvalid, match="line 2, field term_years"):
        read_feed(f"{feed_server.url}/broken.csv")


def test_register_ingest_from_url_is_idempotent(
    feed_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AANLEVERING_EVENT_STORE", raising=False)
    url = f"{feed_server.url}/decisions.yaml"
    assert main(["register", "ingest", url]) == 0
    assert "2 decision(s) read: 2 recorded" in capsys.readouterr().out
    assert main(["register", "ingest", url]) == 0
    assert "0 recorded, 2 already in the log" in capsys.readouterr().out
    assert main(["register", "status", "--registration", "dica-dsaa", "--on", "2026-05-01"]) == 0
    assert "dica-dsaa\trejected\tsince 2026-04-15" in capsys.readouterr().out


def test_unreachable_feed_is_a_config_error() -> None:
    from support.servers import free_port

    with pytest.raises(ConfigError, match="cannot fetch"):
        read_feed(f"http://127.0.0.1:{free_port()}/decisions.json")


def test_a_run_stops_while_the_feed_was_last_read_too_long_ago(
    feed_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event log restored from a backup made before the feed's rejection was read (0643).

    DSAA delivers before any decision (``before_inclusion: deliver``); the feed has
    rejected it since the backup. Until the feed is read again a run must not go on
    the log's stale view; after the read, the rejection stops it.
    """
    from datetime import UTC, datetime, timedelta

    from aanlevering.catalogue import load_catalogue
    from aanlevering.errors import NoObligation
    from aanlevering.events.factory import open_event_store
    from aanlevering.obligation.events import FEED_READS_STREAM, RegisterFeedRead
    from aanlevering.obligation.freshness import RegisterStale
    from aanlevering.periods import Period
    from aanlevering.pipeline.operations import check_obligation
    from aanlevering.settings import load_settings

    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AANLEVERING_EVENT_STORE", raising=False)
    monkeypatch.delenv("AANLEVERING_REGISTER_MAX_AGE_HOURS", raising=False)
    url = f"{feed_server.url}/decisions.json"
    config = load_catalogue(Path(__file__).resolve().parents[3] / "schemas" / "catalogue").get(
        "dica-dsaa"
    )
    period, today = Period.parse("2026-Q3"), date(2026, 11, 22)
    backup_read = RegisterFeedRead(decisions=0, occurred_at=datetime.now(UTC) - timedelta(days=3))
    with open_event_store(load_settings().event_store_url) as store:
        store.append(FEED_READS_STREAM, [backup_read], None)
        check_obligation(config, store, period, today)  # decisions by hand: nothing required
        monkeypatch.setenv("AANLEVERING_REGISTER_FEED", url)
        with pytest.raises(RegisterStale, match="72 hours ago") as stale:
            check_obligation(config, store, period, today)
    assert stale.value.exit_code == 2 and "register ingest" in str(stale.value)

    assert main(["register", "ingest", url]) == 0
    with (
        open_event_store(load_settings().event_store_url) as store,
        pytest.raises(NoObligation, match="negative register decision"),
    ):
        check_obligation(config, store, period, today)
