"""A TLS server on 127.0.0.1 that answers every request with a redirect, and a recorder.

For the transport audit (decision 0360): clients must not follow a
counterparty's redirect, so what they send never reaches a host, scheme or
port other than the one configured (and checked against the http:// rule).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aanlevering.counterparts.common.demo_ca import DemoCA


@dataclass
class Recorder:
    """What reached the redirect target: (method, path, body bytes, had Authorization)."""

    url: str
    seen: list[tuple[str, str, int, bool]] = field(default_factory=list)


def _serve(server: ThreadingHTTPServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


@contextmanager
def redirecting_server(ca: DemoCA | None, status: int = 307) -> Iterator[tuple[str, Recorder]]:
    """(base URL that redirects, recorder on ``http://localhost`` it redirects to).

    With ``ca`` the redirecting server speaks TLS (``https://127.0.0.1``); without,
    plain ``http://127.0.0.1`` (for clients inside the hospital, decision 0402).
    """
    recorder = Recorder(url="")

    class Record(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            auth = "Authorization" in self.headers
            recorder.seen.append((self.command, self.path, len(body), auth))
            answer = b"{}"
            self.send_response(404 if self.command == "GET" else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_PUT = do_POST = do_DELETE = _answer  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    target = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    recorder.url = f"http://localhost:{target.server_address[1]}"

    class Redirect(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            self.send_header("Location", recorder.url + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_PUT = do_POST = do_DELETE = _answer  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    origin = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    scheme = "http"
    if ca is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(ca.server_cert, ca.server_key)
        origin.socket = context.wrap_socket(origin.socket, server_side=True)
        scheme = "https"
    for server in (target, origin):
        _serve(server)
    try:
        yield f"{scheme}://127.0.0.1:{origin.server_address[1]}", recorder
    finally:
        for server in (target, origin):
            server.shutdown()
            server.server_close()
