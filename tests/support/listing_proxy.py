"""A forwarding HTTP proxy in front of the registry holder that can answer the listing itself.

For decision 0455: a misconfigured proxy or hostile middlebox that answers
the held-versions listing (``GET .../deliveries?period=``) with 404, 405 or
501 while it forwards everything else. A real server on loopback, forwarding
with real requests to the real registry holder process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

#: Request headers passed on to the holder (the rest are hop-by-hop or set by requests).
_PASSED = ("Authorization", "Idempotency-Key", "On-Behalf-Of", "Content-Type", "Digest")


class ListingProxy:
    """Forwards every request; with ``blocked`` set it answers the listing with that status."""

    def __init__(self, upstream: str) -> None:
        self.blocked: int | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                if proxy.blocked is not None and self.command == "GET" and "?period=" in self.path:
                    self._answer(proxy.blocked, b'{"detail": "Not Found"}', "application/json")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {h: v for h in _PASSED if (v := self.headers.get(h)) is not None}
                answer = requests.request(
                    self.command, upstream + self.path, data=body, headers=headers, timeout=30
                )
                kind = answer.headers.get("Content-Type", "application/json")
                self._answer(answer.status_code, answer.content, kind)

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._forward()

            def do_PUT(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def endpoint(self, registration: str) -> str:
        """The registration's deliveries endpoint, through the proxy."""
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}/registrations/{registration}/deliveries"


@contextmanager
def listing_proxy(upstream: str) -> Iterator[ListingProxy]:
    """A running proxy to ``upstream`` (a base URL), stopped afterwards."""
    running = ListingProxy(upstream)
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()
