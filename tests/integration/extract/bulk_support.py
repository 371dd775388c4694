"""Start the bulk-export test server (bulk_server.py) as a real process and talk to it."""

from __future__ import annotations

import selectors
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parents[1] / "fixtures" / "extract"


@dataclass
class BulkServer:
    """A running server: its base URL and what it has seen."""

    process: subprocess.Popen[str]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def requests(self) -> list[dict[str, Any]]:
        return list(requests.get(f"http://127.0.0.1:{self.port}/_requests", timeout=10).json())


def start_server(args: list[str]) -> BulkServer:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "bulk_server.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            line = process.stdout.readline()
            if line.startswith("PORT "):
                return BulkServer(process, int(line.split()[1]))
            if not line:
                break
    process.kill()
    _, stderr = process.communicate(timeout=10)
    raise RuntimeError(f"bulk server did not start: {stderr}")
