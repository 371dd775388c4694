"""A hostile TTP for client tests: forwards to the real TTP and tampers with its answers (stdlib).

The reference TTP answers correctly; this stand-in sits in front of it and
changes the answer of ``/pseudonyms/temporary/columns`` as the JSON in
``--plan-file`` says, so the hospital's checks meet real, well-formed answers
with one thing wrong. The plan is read at every request (tests rewrite it):

    {"mode": "same", "type": "NGGV", "batch": 0}

Modes (``type`` names the payload list, ``batch`` the request id's batch
number; default every batch):

* ``same``: row 1 gets row 0's payload (two people, one pseudonym),
* ``swap``: rows 0 and 1 exchange payloads,
* ``extra``: one payload more than rows sent,
* ``carry``: row 0 of later batches (or of ``batch``) gets row 0 of batch 0,
* ``echo``: every payload is the row's own digest (or MRN ciphertext) sent,
* ``value``: row ``row``'s (default 1) payload becomes ``value`` (a BSN, ""),
* ``registration`` / ``key_version``: that field of the answer becomes ``value``,
* ``field``: the answer's field ``field`` becomes ``value``,
* ``trickle``: the real answer, one byte every ``delay`` seconds,
* ``huge``: the real answer followed by ``size`` bytes of spaces,
* ``cut``: the first half of the real answer (Content-Length says so),
* ``error``: 200 with an error body instead of the answer,
* ``redirect``: 307 to the real TTP,
* ``none``: the real answer.

    python tampering_ttp.py --port N --upstream URL --plan-file FILE
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

COLUMNS = "/pseudonyms/temporary/columns"
#: Guards the payloads ``carry`` keeps between requests (answered on several threads).
SEEN = threading.Condition()


def _digests(request: dict[str, Any], code: str) -> list[str | None]:
    """The digest of every row of ``code`` as the request sent them (None where missing)."""
    column = request["types"][code]
    text, missing = column["digests"], set(column.get("missing", ()))
    out: list[str | None] = []
    position = 0
    for row in range(request["count"]):
        if row in missing:
            out.append(None)
        else:
            out.append(text[64 * position : 64 * position + 64])
            position += 1
    return out


def tamper(
    plan: dict[str, Any], request: dict[str, Any], answer: dict[str, Any], first: dict[str, Any]
) -> None:
    """Change ``answer`` in place as ``plan`` says (``first`` keeps state across requests)."""
    mode = plan.get("mode", "none")
    batch = int(request["request_id"].rsplit(":", 1)[-1])
    code = plan.get("type", "NGGV")
    payloads = answer.get("payloads", {}).get(code)
    if mode == "carry":
        run = request["request_id"].rsplit(":", 3)[0]
        with SEEN:
            if batch == 0:
                first[run] = payloads[0]
                SEEN.notify_all()
            elif plan.get("batch") in (None, batch):
                # Two batches are in flight: wait for batch 0's answer to pass first.
                SEEN.wait_for(lambda: run in first, timeout=10)
                payloads[0] = first[run]
        return
    if plan.get("batch") is not None and plan["batch"] != batch:
        return
    if mode == "same":
        payloads[1] = payloads[0]
    elif mode == "extra":
        payloads.append(payloads[0])
    elif mode == "swap":
        payloads[0], payloads[1] = payloads[1], payloads[0]
    elif mode == "echo":
        sent = request["mrn_ciphertexts"] if code == "MRN" else _digests(request, code)
        answer["payloads"][code] = sent
    elif mode == "value":
        payloads[int(plan.get("row", 1))] = plan["value"]
    elif mode in ("registration", "key_version"):
        answer[mode] = plan["value"]
    elif mode == "field":
        answer[plan["field"]] = plan["value"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--plan-file", required=True)
    args = parser.parse_args()
    plan_file = Path(args.plan_file)
    first: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self, body: bytes | None) -> tuple[int, bytes]:
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() in ("authorization", "content-type")
            }
            request = urllib.request.Request(
                args.upstream + self.path, data=body, headers=headers, method=self.command
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.read()

        def _send(self, status: int, body: bytes, plan: dict[str, Any]) -> None:
            extra = b" " * int(plan.get("size", 0)) if plan.get("mode") == "huge" else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + len(extra)))
            self.end_headers()
            if plan.get("mode") == "trickle":
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(float(plan["delay"]))
                return
            self.wfile.write(body)
            if extra:
                self.wfile.write(extra)

        def do_GET(self) -> None:
            status, body = self._forward(None)
            self._send(status, body, {})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, body = self._forward(raw)
            plan = json.loads(plan_file.read_text()) if plan_file.exists() else {}
            if status == 200 and self.path == COLUMNS:
                answer = json.loads(body)
                tamper(plan, json.loads(raw), answer, first)
                body = json.dumps(answer).encode()
            mode = plan.get("mode")
            if mode == "cut":
                body = body[: len(body) // 2]
            elif mode == "error":
                body = json.dumps({"detail": {"code": "internal", "message": "oops"}}).encode()
            elif mode == "redirect":
                self.send_response(307)
                self.send_header("Location", args.upstream + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(status, body, plan)

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
