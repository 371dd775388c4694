"""The ttp-local channel compares the TTP's per-file record counts with the manifest (0596).

A proxy on 127.0.0.1 in front of the real reference TTP passes the upload on
and changes one file's ``records`` in the TTP's answer by one: the TTP says it
pseudonymised and forwarded another number of records than were sent, so the
registry holder's receipt is no proof of what the hospital sent. The delivery
is an unverified (failed) attempt, never ``DeliveryReceipted``; the same
upload through the proxy unchanged is receipted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from test_ttp_local_mode import stage

from aanlevering.deliver.channels.ttp_local import TtpLocalChannel
from aanlevering.deliver.events import delivery_stream
from aanlevering.deliver.receipt import ReceiptMismatch
from aanlevering.deliver.service import send_with_retries
from aanlevering.events.factory import open_event_store
from aanlevering.events.store import EventStore
from support.ttp import Hospital, TTPSetup

Change = Callable[[dict[str, Any]], None]


def _proxy(upstream: str, change: Change | None) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}
            }
            answer = requests.post(upstream + self.path, data=body, headers=headers, timeout=30)
            data = answer.content
            if answer.ok and change is not None:
                decoded = answer.json()
                change(decoded)
                data = json.dumps(decoded).encode()
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def through_proxy(ttp: TTPSetup) -> Iterator[Callable[[Change | None], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(change: Change | None) -> str:
        server, url = _proxy(ttp.url, change)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")


def _types(store: EventStore, period: str) -> list[str]:
    return [e.event_type for e in store.read_stream(delivery_stream("nkr-borst", period))]


def _one_more(name: str) -> Change:
    def change(answer: dict[str, Any]) -> None:
        (item,) = (f for f in answer["files"] if f["name"] == name)
        item["records"] += 1

    return change


@pytest.mark.parametrize("name", ["tumor.ndjson", "tumor.csv"])
def test_the_ttps_record_counts_differing_from_the_manifest_are_no_delivery(
    ttp: TTPSetup,
    hospital_a: Hospital,
    tmp_path: Path,
    store: EventStore,
    through_proxy: Callable[[Change | None], str],
    name: str,
) -> None:
    period = f"2026-C{len(name)}"
    manifest = stage(tmp_path / "staged", period, hospital_a)
    client = ttp.client("demo-hospital")
    client.transport.base_url = through_proxy(_one_more(name))
    sent = {f.name: f.records for f in manifest.files}

    with pytest.raises(ReceiptMismatch) as refused:
        send_with_retries(
            TtpLocalChannel(client, "nl-2026.1"),
            tmp_path / "staged",
            manifest,
            store,
            sleep=lambda _: None,
        )
    said = str(refused.value)
    assert f"{name}: the TTP processed {sent[name] + 1} record(s), the manifest says" in said
    assert "NOT recorded as delivered" in said
    assert _types(store, period) == ["deliver.DeliveryAttemptFailed"]


def test_the_ttps_honest_counts_are_a_delivery(
    ttp: TTPSetup,
    hospital_a: Hospital,
    tmp_path: Path,
    store: EventStore,
    through_proxy: Callable[[Change | None], str],
) -> None:
    manifest = stage(tmp_path / "staged", "2026-C0", hospital_a)
    client = ttp.client("demo-hospital")
    client.transport.base_url = through_proxy(None)
    receipt = send_with_retries(
        TtpLocalChannel(client, "nl-2026.1"), tmp_path / "staged", manifest, store
    )
    assert receipt.idempotency_key == manifest.idempotency_key
    assert _types(store, "2026-C0")[-1] == "deliver.DeliveryReceipted"


def _pseudonym_count_as_text(answer: dict[str, Any]) -> None:
    item = answer["files"][0]
    item["pseudonyms"] = {name: str(count) for name, count in item["pseudonyms"].items()}


def _without_batch_id(answer: dict[str, Any]) -> None:
    del answer["batch_id"]


def _one_file_left_out(answer: dict[str, Any]) -> None:
    answer["files"] = answer["files"][1:]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (_pseudonym_count_as_text, "pseudonyms"),
        (_without_batch_id, "batch_id"),
        (_one_file_left_out, "does not cover every file of the manifest"),
    ],
)
def test_an_answer_of_the_ttp_that_is_no_proof_is_a_recorded_failed_attempt(
    ttp: TTPSetup,
    hospital_a: Hospital,
    tmp_path: Path,
    store: EventStore,
    through_proxy: Callable[[Change | None], str],
    change: Change,
    said: str,
) -> None:
    """A malformed TTP answer (a count as text, a field missing, a file not reported) is
    no receipt: the attempt is recorded as failed, with what was wrong, and nothing as
    delivered; before, the error escaped with no attempt in the log (or as a KeyError)."""
    period = f"2026-M{len(said) % 10}"
    manifest = stage(tmp_path / "staged", period, hospital_a)
    client = ttp.client("demo-hospital")
    client.transport.base_url = through_proxy(change)

    with pytest.raises(ReceiptMismatch) as refused:
        send_with_retries(
            TtpLocalChannel(client, "nl-2026.1"),
            tmp_path / "staged",
            manifest,
            store,
            sleep=lambda _: None,
        )
    assert said in str(refused.value)
    assert "NOT recorded as delivered" in str(refused.value)
    assert _types(store, period) == ["deliver.DeliveryAttemptFailed"]
