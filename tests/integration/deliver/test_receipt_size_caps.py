"""A receiver's answers are read no further than a cap (decision 0401).

A hostile or broken registry holder answers with a receipt (or a 409, or an
error) of tens of MiB: the https channel reads at most ``ANSWER_LIMIT`` bytes
of it and stops with a DeliveryError, never "delivered"; it does not wait for
the rest (the server sees the connection closed before it sent it all). Over
SFTP a ``receipt.json`` beyond the cap is likewise refused unread. The padded
receipts below are otherwise this delivery's own, so reading them whole would
have counted the delivery as delivered.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from aanlevering.bounded_answers import ANSWER_LIMIT
from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.channels.sftp import SftpChannel, SftpTarget
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import Receipt
from aanlevering.errors import DeliveryError
from support.sshd import SftpServer

HUGE = 48 * 1024 * 1024  # far beyond the cap and any loopback socket buffer
CHUNK = 64 * 1024


def _padded_receipt(manifest: Manifest, size: int) -> bytes:
    """This delivery's own receipt as JSON, padded with an unknown field to ``size`` bytes."""
    receipt = Receipt(
        idempotency_key=manifest.idempotency_key,
        receipt_id="r-huge",
        received_at="2026-11-22T10:00:00+00:00",
        receiver="hostile",
        channel="https",
        record_counts=dict(manifest.record_counts),
        provider=manifest.provider_id,
        manifest_sha256=manifest.provider_sha256(),
    )
    head = json.dumps({**asdict(receipt), "padding": ""})[:-2]  # open the padding string
    return head.encode() + b"x" * (size - len(head) - 2) + b'"}'


@dataclass
class Answered:
    """What the hostile server managed to send per request: (method, path, sent whole)."""

    seen: list[tuple[str, str, bool]] = field(default_factory=list)

    def after(self, count: int) -> list[tuple[str, str, bool]]:
        """``seen`` once ``count`` answers are finished (the server ends after the client)."""
        deadline = time.monotonic() + 30
        while len(self.seen) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.seen)


#: (method, path) -> (status, body, declare Content-Length)
Script = Callable[[str, str], tuple[int, bytes, bool]]


@pytest.fixture
def hostile() -> Iterator[Callable[[Script], tuple[str, Answered]]]:
    servers: list[ThreadingHTTPServer] = []

    def start(script: Script) -> tuple[str, Answered]:
        answered = Answered()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection does

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, body, declare = script(self.command, self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if declare:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                whole = True
                try:
                    for start in range(0, len(body), CHUNK):
                        self.wfile.write(body[start : start + CHUNK])
                except OSError:  # the client hung up before the end
                    whole = False
                answered.seen.append((self.command, self.path, whole))

            do_GET = do_PUT = do_POST = _answer  # noqa: N815 - http.server's names

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/registrations/ldtr/deliveries", (
            answered
        )

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "until-close"])
def test_an_oversized_commit_receipt_is_an_error_not_delivered(
    hostile: Callable[[Script], tuple[str, Answered]],
    staged: tuple[Path, Manifest],
    declare: bool,
) -> None:
    folder, manifest = staged
    huge = _padded_receipt(manifest, HUGE)

    def script(method: str, path: str) -> tuple[int, bytes, bool]:
        if method == "GET":
            return 404, b"{}", True
        return (200, huge, declare) if path.endswith("/commit") else (200, b"{}", True)

    url, answered = hostile(script)
    with pytest.raises(DeliveryError, match=r"larger than 1 MiB") as raised:
        HttpsChannel(url, api_key="k").send(folder, manifest)
    assert "NOT recorded as delivered" in str(raised.value)
    seen = answered.after(1 + len(manifest.transferred()) + 1)  # GET, PUTs, commit
    commits = [whole for method, path, whole in seen if path.endswith("/commit")]
    assert commits == [False]  # the client stopped reading; it never took 48 MiB in


def test_an_oversized_stored_receipt_is_an_error_and_nothing_is_sent(
    hostile: Callable[[Script], tuple[str, Answered]], staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    huge = _padded_receipt(manifest, HUGE)
    url, answered = hostile(lambda method, path: (200, huge, False))
    with pytest.raises(DeliveryError, match=r"larger than 1 MiB"):
        HttpsChannel(url, api_key="k").send(folder, manifest)
    assert [(m, whole) for m, _, whole in answered.after(1)] == [("GET", False)]


def test_an_oversized_409_answer_is_not_read_whole(
    hostile: Callable[[Script], tuple[str, Answered]], staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    huge = b'{"detail": "' + b"x" * HUGE + b'"}'

    def script(method: str, path: str) -> tuple[int, bytes, bool]:
        if method == "GET":
            return 404, b"{}", True
        return (409, huge, False) if path.endswith("/commit") else (200, b"{}", True)

    url, answered = hostile(script)
    with pytest.raises(DeliveryError, match=r"HTTP 409") as raised:
        HttpsChannel(url, api_key="k").send(folder, manifest)
    assert len(str(raised.value)) < 2000  # a short detail, not the answer
    seen = answered.after(1 + len(manifest.transferred()) + 2)  # GET, PUTs, commit, GET
    assert [whole for _, path, whole in seen if path.endswith("/commit")] == [False]


def test_a_receipt_at_the_cap_is_still_read(
    hostile: Callable[[Script], tuple[str, Answered]], staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    fits = _padded_receipt(manifest, ANSWER_LIMIT)

    def script(method: str, path: str) -> tuple[int, bytes, bool]:
        if method == "GET":
            return 404, b"{}", True
        return (200, fits, False) if path.endswith("/commit") else (200, b"{}", True)

    url, _ = hostile(script)
    receipt = HttpsChannel(url, api_key="k").send(folder, manifest)
    assert receipt.receipt_id == "r-huge" and not receipt.duplicate


def test_an_oversized_sftp_receipt_is_an_error_not_delivered(
    sftp_server: SftpServer, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    inbox = sftp_server.root / "ldtr"
    (inbox / manifest.idempotency_key).mkdir(parents=True)
    (inbox / manifest.idempotency_key / "receipt.json").write_bytes(
        _padded_receipt(manifest, 8 * 1024 * 1024)
    )
    target = SftpTarget.from_url(
        f"{sftp_server.url_prefix}{inbox}", sftp_server.client_key, sftp_server.known_hosts
    )
    channel = SftpChannel(target, receipt_timeout=5, poll_interval=0.1, connect_timeout=5)
    with pytest.raises(DeliveryError, match=r"larger than 1 MiB") as raised:
        channel.send(folder, manifest)
    assert "NOT recorded as delivered" in str(raised.value)


def test_an_sftp_receipt_that_is_no_json_is_an_error(
    sftp_server: SftpServer, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    inbox = sftp_server.root / "ldtr"
    (inbox / manifest.idempotency_key).mkdir(parents=True)
    (inbox / manifest.idempotency_key / "receipt.json").write_bytes(b"\xff not json")
    target = SftpTarget.from_url(
        f"{sftp_server.url_prefix}{inbox}", sftp_server.client_key, sftp_server.known_hosts
    )
    channel = SftpChannel(target, receipt_timeout=5, poll_interval=0.1, connect_timeout=5)
    with pytest.raises(DeliveryError, match=r"invalid receipt"):
        channel.send(folder, manifest)
