"""A registry holder without the held-versions listing, or one that is down (decision 0460).

A holder of the protocol before decision 0462 answers the listing with 404
or 405: the run is told nothing by it and keeps the event log's answer
(saying so). A holder that answers 5xx, or none at all, is down: the run
fails as a send would, never "already delivered" from the log alone. Real
HTTP servers on loopback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.events.sqlite import SqliteEventStore
from aanlevering.pipeline.receiver_check import ReceiverNotAsked, ask_receiver
from support.servers import free_port


def _holder_answering(status: int) -> tuple[ThreadingHTTPServer, list[str]]:
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = b'{"detail": "Not Found"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, asked


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    opened = SqliteEventStore(tmp_path / "events.db")
    yield opened
    opened.close()


@pytest.fixture
def holders() -> Iterator[list[ThreadingHTTPServer]]:
    running: list[ThreadingHTTPServer] = []
    yield running
    for server in running:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [404, 405])
def test_a_holder_without_the_listing_leaves_the_log_to_decide(
    holders: list[ThreadingHTTPServer], status: int, store: SqliteEventStore
) -> None:
    server, asked = _holder_answering(status)
    holders.append(server)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/registrations/ldtr/deliveries"
    channel = HttpsChannel(endpoint, "key", timeout=5)

    assert ask_receiver(channel, "demo-hospital", "ldtr", "2026-03", store=store) is None
    assert asked == ["/registrations/ldtr/deliveries?period=2026-03"]


@pytest.mark.parametrize("status", [500, 503])
def test_a_holder_that_fails_is_down_not_without_a_listing(
    holders: list[ThreadingHTTPServer], status: int, store: SqliteEventStore
) -> None:
    server, _ = _holder_answering(status)
    holders.append(server)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/registrations/ldtr/deliveries"

    with pytest.raises(ReceiverNotAsked, match="nothing is reported delivered"):
        ask_receiver(
            HttpsChannel(endpoint, "key", timeout=5),
            "demo-hospital",
            "ldtr",
            "2026-03",
            store=store,
        )


def test_a_holder_that_does_not_answer_is_down(store: SqliteEventStore) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/registrations/ldtr/deliveries"
    with pytest.raises(ReceiverNotAsked, match="could not be asked"):
        ask_receiver(
            HttpsChannel(endpoint, "key", timeout=5),
            "demo-hospital",
            "ldtr",
            "2026-03",
            store=store,
        )
