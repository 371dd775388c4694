"""Hand-written HTTP/1.1 requests over a socket, for tests that must control what is (not) sent.

``requests`` always sends the whole body; to show that a server answers
before reading a body, these helpers send the headers (and optionally part
of the body) and read the answer while the rest is still unsent.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class RawAnswer:
    """Status line and headers of an answer (names lower-case)."""

    status: int
    headers: dict[str, str]


def open_request(
    port: int, method: str, path: str, headers: Mapping[str, str], body: bytes = b""
) -> socket.socket:
    """Connect to 127.0.0.1:port and send the request head plus ``body`` (not necessarily all)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    sock.sendall(head.encode("latin-1") + b"\r\n" + body)
    return sock


def read_answer(sock: socket.socket) -> RawAnswer:
    """Read the status line and headers of the answer (bounded by the socket timeout)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(status, headers)


def request_without_body(
    port: int, method: str, path: str, headers: Mapping[str, str]
) -> RawAnswer:
    """Send only the head (whatever Content-Length says) and read the answer."""
    with open_request(port, method, path, headers) as sock:
        return read_answer(sock)
