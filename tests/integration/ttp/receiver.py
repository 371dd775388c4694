"""A tiny registry-holder receiver for the TTP forwarding tests (stdlib only, run as a subprocess).

Speaks the delivery protocol of the hospital's HTTPS channel: PUT files,
POST commit with the manifest (checksums verified), receipt back; GET
receipt. ``POST /_fail {"commits": N}`` makes the next N commits answer 500
so the TTP's retries can be tested. Committed deliveries land in
``<dir>/<idempotency key>/`` with their manifest and the request headers.

    python receiver.py --dir DIR --port N --api-key-file FILE
        [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]

With ``--tls-client-ca`` every request but ``/health`` must come with a client
certificate that CA signed (403 otherwise), and a committed delivery records
the certificate's subject in ``headers.json`` (``_client_subject``), so a
test can see which certificate the TTP presented when it forwarded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import ssl
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_PATH = re.compile(
    r"^/registrations/(?P<reg>[^/]+)/deliveries/(?P<key>[^/]+)/(?P<rest>files/[^/]+|commit|receipt)$"
)


class State:
    def __init__(
        self, folder: Path, api_key: str, fail_commits: int, require_client_cert: bool = False
    ) -> None:
        self.require_client_cert = require_client_cert
        self.folder = folder
        self.api_key = api_key
        self.fail_commits = fail_commits
        self.commit_calls = 0
        self.lock = threading.Lock()


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _client_subject(self) -> str | None:
            getpeercert = getattr(self.connection, "getpeercert", None)
            certificate = getpeercert() if getpeercert is not None else None
            if not certificate:
                return None
            parts = [f"{name}={value}" for rdn in certificate["subject"] for name, value in rdn]
            return ",".join(parts)

        def _route(self) -> re.Match[str] | None:
            if state.require_client_cert and self._client_subject() is None:
                self._answer(403, {"detail": "client certificate required"})
                return None
            if self.headers.get("Authorization") != f"Bearer {state.api_key}":
                self._answer(401, {"detail": "unknown API key"})
                return None
            match = _PATH.match(self.path)
            if match is None:
                self._answer(404, {"detail": "no such path"})
            return match

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def do_GET(self) -> None:
            if self.path == "/health":
                self._answer(200, {"status": "ok"})
                return
            if self.path == "/_stats":
                self._answer(200, {"commit_calls": state.commit_calls})
                return
            match = self._route()
            if match is None:
                return
            receipt = state.folder / match["key"] / "receipt.json"
            if match["rest"] == "receipt" and receipt.exists():
                self._answer(200, json.loads(receipt.read_text()))
            else:
                self._answer(404, {"detail": "no receipt"})

        def do_PUT(self) -> None:
            match = self._route()
            if match is None:
                return
            incoming = state.folder / "_incoming" / match["key"]
            incoming.mkdir(parents=True, exist_ok=True)
            (incoming / match["rest"].removeprefix("files/")).write_bytes(self._body())
            self._answer(201, {"stored": True})

        def do_POST(self) -> None:
            if self.path == "/_fail":
                state.fail_commits = int(json.loads(self._body())["commits"])
                self._answer(200, {"armed": state.fail_commits})
                return
            match = self._route()
            if match is None or match["rest"] != "commit":
                return
            body = self._body()
            with state.lock:
                state.commit_calls += 1
                if state.fail_commits > 0:
                    state.fail_commits -= 1
                    self._answer(500, {"detail": "injected receiver failure"})
                    return
            manifest = json.loads(body)
            key = match["key"]
            target = state.folder / key
            if (target / "receipt.json").exists():
                receipt = json.loads((target / "receipt.json").read_text())
                self._answer(200, {**receipt, "duplicate": True})
                return
            incoming = state.folder / "_incoming" / key
            for entry in manifest["files"]:
                data = (incoming / entry["name"]).read_bytes()
                if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                    self._answer(422, {"detail": f"{entry['name']}: sha256 mismatch"})
                    return
            incoming.rename(target)
            (target / "manifest.json").write_text(json.dumps(manifest))
            headers = {**dict(self.headers.items()), "_client_subject": self._client_subject()}
            (target / "headers.json").write_text(json.dumps(headers))
            receipt = {
                "idempotency_key": key,
                "receipt_id": f"r-{hashlib.sha256(key.encode()).hexdigest()[:12]}",
                "received_at": datetime.now(UTC).isoformat(),
                "receiver": "test-receiver",
                "record_counts": manifest["record_counts"],
                # Bound to the hospital's own manifest, which the TTP names (decision 0221).
                "provider": manifest["provider_id"],
                "manifest_sha256": manifest["source_manifest_sha256"],
            }
            (target / "receipt.json").write_text(json.dumps(receipt))
            self._answer(201, {**receipt, "duplicate": False})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key-file", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-client-ca")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    api_key = Path(args.api_key_file).read_text().strip()
    state = State(folder, api_key, 0, require_client_cert=bool(args.tls_client_ca))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            context.verify_mode = ssl.CERT_OPTIONAL  # /health answers without one
            context.load_verify_locations(args.tls_client_ca)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
