"""A receiver (real HTTP on 127.0.0.1) that answers with what is not this delivery's receipt.

The reference registry holder never does this; a buggy or hostile one may.
Whatever it answers, the ledger records neither ``DeliveryReceipted`` nor
``DeliveryVersionTaken`` (both count as receipted) unless the receipt names
this provider and key.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.events import delivery_stream
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import DeliveryError, Receipt, ReceiptMismatch
from aanlevering.deliver.service import send_with_retries
from aanlevering.events.factory import open_event_store
from aanlevering.events.store import EventStore

#: (method, path) -> (status, body); ``receipts`` is what GET .../receipt answers in turn.
Script = Callable[[str, str], tuple[int, bytes]]


class _Handler(BaseHTTPRequestHandler):
    script: Script

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        status, body = self.script(self.command, self.path)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = _answer  # noqa: N815 - http.server's names

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[Callable[[Script], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(script: Script) -> str:
        handler = type("Scripted", (_Handler,), {"script": staticmethod(script)})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/registrations/ldtr/deliveries"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")


def _receipt_of(manifest: Manifest, **changes: object) -> bytes:
    receipt = Receipt(
        idempotency_key=manifest.idempotency_key,
        receipt_id="r-other",
        received_at="2026-11-22T10:00:00+00:00",
        receiver="hostile",
        channel="receiver",
        record_counts=dict(manifest.record_counts),
        provider=manifest.provider_id,
        manifest_sha256="f" * 64,
    )
    return json.dumps(asdict(replace(receipt, **changes))).encode()  # type: ignore[arg-type]


def _race_then(body: bytes) -> Script:
    """404 to the first receipt request, 409 to the commit, then ``body`` as the receipt."""
    asked: list[str] = []

    def script(method: str, path: str) -> tuple[int, bytes]:
        if method == "GET":
            asked.append(path)
            return (404, b"{}") if len(asked) == 1 else (200, body)
        if path.endswith("/commit"):
            return 409, b'{"detail": "key used"}'
        return 201, b"{}"

    return script


def _types(store: EventStore) -> list[str]:
    return [e.event_type for e in store.read_stream(delivery_stream("ldtr", "2026-03"))]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"provider": "hospital-b"}, "provider: expected 'demo-hospital', got 'hospital-b'"),
        ({"idempotency_key": "demo-hospital.ldtr.2026-03.v7"}, "idempotency key"),
    ],
)
def test_a_conflict_answered_with_a_receipt_of_another_delivery_is_never_taken_as_ours(
    receiver: Callable[[Script], str],
    staged: tuple[Path, Manifest],
    store: EventStore,
    changes: dict[str, object],
    named: str,
) -> None:
    folder, manifest = staged
    endpoint = receiver(_race_then(_receipt_of(manifest, **changes)))
    with pytest.raises(ReceiptMismatch, match=named):
        send_with_retries(HttpsChannel(endpoint, "key"), folder, manifest, store)
    assert _types(store) == ["deliver.DeliveryAttemptFailed"]  # not VersionTaken, not Receipted


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b"{}"])
def test_a_commit_answered_200_without_a_receipt_is_not_delivered(
    receiver: Callable[[Script], str],
    staged: tuple[Path, Manifest],
    store: EventStore,
    body: bytes,
) -> None:
    folder, manifest = staged

    def script(method: str, path: str) -> tuple[int, bytes]:
        if method == "GET":
            return 404, b"{}"
        return (200, body) if path.endswith("/commit") else (201, b"{}")

    with pytest.raises(DeliveryError, match="invalid receipt"):
        send_with_retries(
            HttpsChannel(receiver(script), "key"), folder, manifest, store, sleep=lambda _: None
        )
    assert "deliver.DeliveryReceipted" not in _types(store)


@pytest.mark.parametrize("spell", [str, lambda n: n == 1])
def test_a_receipt_with_counts_that_are_no_integers_is_no_proof(
    receiver: Callable[[Script], str],
    staged: tuple[Path, Manifest],
    store: EventStore,
    spell: Callable[[int], object],
) -> None:
    """``"1"`` or ``true`` for a count is not the holder counting 1 (decision 0594)."""
    folder, manifest = staged
    assert dict(manifest.record_counts) == {"trauma": 1}  # so true == 1 would have passed
    body = json.loads(_receipt_of(manifest, manifest_sha256=manifest.provider_sha256()))
    body["record_counts"] = {k: spell(v) for k, v in manifest.record_counts.items()}

    def script(method: str, path: str) -> tuple[int, bytes]:
        if method == "GET":
            return 404, b"{}"
        return (200, json.dumps(body).encode()) if path.endswith("/commit") else (201, b"{}")

    with pytest.raises(DeliveryError, match=r"record_counts\.trauma"):
        send_with_retries(
            HttpsChannel(receiver(script), "key"), folder, manifest, store, sleep=lambda _: None
        )
    assert _types(store) == ["deliver.DeliveryAttemptFailed"]  # failed, never receipted
