"""A small FHIR Bulk Data ($export) server for the client tests, run as its own process.

Serves the NDJSON files of a fixture folder through the async request pattern:
kick-off answers 202 with a status URL; the status URL answers 202 (with
``Retry-After`` and ``X-Progress``) for ``--polls`` polls, then 200 with the
manifest; ``/files/<name>`` serves a file. Behaviour for error tests:

``--fail-status``       the job fails: status answers 500 with an OperationOutcome
``--transient N``       the first N polls answer 503 with a ``transient`` OperationOutcome
``--token T``           files require ``Authorization: Bearer T`` (manifest
                        ``requiresAccessToken: true``)
``--error-file``        the manifest lists an OperationOutcome error file
A ``_type`` naming a type without fixture file is refused with 400, and
``Group/unknown`` with 404, as real servers do.

``GET /_requests`` returns every request seen (method, path, query, headers
of interest) so tests can check what the client sent. Binds 127.0.0.1 on
a free port and prints ``PORT <n>`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

_HEADERS = ("Accept", "Prefer", "Authorization")
#: What ``--fail-status`` diagnostics quote: a patient, as a real server's may.
LEAKY_DIAGNOSTICS = "Patient/0069386181 (Jansen, born 1950-02-08)"


def _outcome(code: str, diagnostics: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }


class State:
    """Jobs and the request log, shared by the handler threads."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.fixtures = Path(args.fixtures)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.jobs: dict[str, dict[str, Any]] = {}

    def types(self) -> dict[str, Path]:
        return {p.stem.split(".")[0]: p for p in sorted(self.fixtures.glob("*.ndjson"))}


class Handler(BaseHTTPRequestHandler):
    """Routes of the fake server."""

    server_version = "FakeBulk/1.0"
    state: State

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output quiet

    def _record(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        with self.state.lock:
            self.state.requests.append({
                "method": self.command,
                "path": parts.path,
                "query": {k: v[0] for k, v in query.items()},
                "headers": {h: self.headers.get(h) for h in _HEADERS if self.headers.get(h)},
            })  # fmt: skip
        return parts.path, query

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        content_type = "application/fhir+json" if status >= 400 else "application/json"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _empty(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        path, query = self._record()
        if path == "/_requests":
            with self.state.lock:
                self._json(200, self.state.requests)
            return
        if path.endswith("/$export"):
            self._kick_off(path, query)
        elif path.startswith("/status/"):
            self._status(path.rsplit("/", 1)[-1])
        elif path.startswith("/files/"):
            self._file(path.rsplit("/", 1)[-1])
        else:
            self._json(404, _outcome("not-found", f"no route {path}"))

    def do_DELETE(self) -> None:
        path, _ = self._record()
        job = path.rsplit("/", 1)[-1]
        with self.state.lock:
            found = self.state.jobs.pop(job, None)
        if found is None:
            self._json(404, _outcome("not-found", "no such export"))
        else:
            self._empty(202, {})

    def _kick_off(self, path: str, query: dict[str, list[str]]) -> None:
        if self.headers.get("Prefer") != "respond-async":
            self._json(400, _outcome("invalid", "Prefer: respond-async is required"))
            return
        if self.headers.get("Accept") != "application/fhir+json":
            self._json(400, _outcome("invalid", "Accept must be application/fhir+json"))
            return
        if path.startswith("/fhir/Group/unknown/"):
            self._json(404, _outcome("not-found", "Group/unknown is not known"))
            return
        available = self.state.types()
        wanted = [t for t in ",".join(query.get("_type", [])).split(",") if t]
        unknown = [t for t in wanted if t not in available]
        if unknown:
            self._json(400, _outcome("not-supported", f"_type {', '.join(unknown)} not supported"))
            return
        job = uuid.uuid4().hex
        with self.state.lock:
            self.state.jobs[job] = {"polls": 0, "types": wanted or sorted(available)}
        host = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._empty(202, {"Content-Location": f"{host}/status/{job}"})

    def _status(self, job: str) -> None:
        args = self.state.args
        with self.state.lock:
            state = self.state.jobs.get(job)
            if state is not None:
                state["polls"] += 1
        if state is None:
            self._json(404, _outcome("not-found", "no such export"))
            return
        if state["polls"] <= args.transient:
            self._json(503, _outcome("transient", "busy, try again"))
            return
        if args.fail_status:
            # As a real server may: the diagnostics quote the patient it failed on.
            self._json(500, _outcome("exception", f"export job failed at {LEAKY_DIAGNOSTICS}"))
            return
        if state["polls"] <= args.transient + args.polls:
            headers = {"X-Progress": f"poll {state['polls']}"}
            if args.retry_after is not None:
                headers["Retry-After"] = str(args.retry_after)
            self._empty(202, headers)
            return
        host = f"http://127.0.0.1:{self.server.server_address[1]}"
        available = self.state.types()
        output = [{"type": t, "url": f"{host}/files/{available[t].name}"} for t in state["types"]]
        errors = []
        if args.error_file:
            errors.append({"type": "OperationOutcome", "url": f"{host}/files/_errors.ndjson"})
        self._json(200, {
            "transactionTime": "2026-06-01T00:00:00Z",
            "request": f"{host}/fhir/$export",
            "requiresAccessToken": bool(args.token),
            "output": output,
            "error": errors,
        })  # fmt: skip

    def _file(self, name: str) -> None:
        args = self.state.args
        if args.token and self.headers.get("Authorization") != f"Bearer {args.token}":
            self._json(401, _outcome("login", "a valid bearer token is required"))
            return
        if name == "_errors.ndjson":
            data = (
                json.dumps(_outcome("not-found", "Device resources are not exported")) + "\n"
            ).encode()
        else:
            path = self.state.fixtures / name
            if not path.is_file() or path.parent != self.state.fixtures:
                self._json(404, _outcome("not-found", f"no file {name}"))
                return
            data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+ndjson")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixtures", required=True)
    parser.add_argument("--polls", type=int, default=0)
    parser.add_argument("--retry-after", type=int, default=None)
    parser.add_argument("--transient", type=int, default=0)
    parser.add_argument("--fail-status", action="store_true")
    parser.add_argument("--token", default=None)
    parser.add_argument("--error-file", action="store_true")
    args = parser.parse_args()
    Handler.state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
