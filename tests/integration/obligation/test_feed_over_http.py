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
