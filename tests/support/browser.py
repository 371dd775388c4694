"""Headless Chromium driven over the DevTools protocol, for tests that need a real browser."""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

# Errors Chromium answers while a page is being replaced (a login redirect, a click that
# navigates): the evaluation was lost with the old page, not wrong, so a wait asks again.
NAVIGATION_ERRORS = (
    "Inspected target navigated or closed",
    "Execution context was destroyed",
    "Cannot find context with specified id",
)


class PageNavigated(AssertionError):
    """An evaluation that Chromium dropped because the page navigated while it ran."""


class Browser:
    """Headless Chromium from Debian driven over the DevTools protocol (no downloaded browsers)."""

    def __init__(self, profile: Path) -> None:
        self.process = subprocess.Popen(
            [
                "chromium",
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1400,1000",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            assert self.process.poll() is None, "chromium exited"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        self.exits = contextlib.ExitStack()
        self.socket = self.exits.enter_context(connect(url, max_size=50_000_000))
        self.ids = itertools.count(1)
        self.call("Page.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self.ids)
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == message_id:
                error = message.get("error")
                if error and any(text in str(error.get("message")) for text in NAVIGATION_ERRORS):
                    raise PageNavigated(error)
                assert error is None, error
                result: dict[str, Any] = message["result"]
                return result

    def js(self, expression: str) -> Any:
        answer = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        return answer["result"].get("value")

    def act(self, expression: str) -> None:
        """Evaluate ``expression`` for its effect (a click that submits a form): a navigation
        it starts may drop the evaluation's answer, which is then no error."""
        with contextlib.suppress(PageNavigated):
            self.js(expression)

    def wait_for(self, expression: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not self._holds(expression):
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.3)

    def _holds(self, expression: str) -> bool:
        """False while the page is navigating: the answer belongs to the page still loading."""
        try:
            return bool(self.js(expression))
        except PageNavigated:
            return False

    def close(self) -> None:
        self.exits.close()
        self.process.terminate()
        self.process.wait(timeout=30)
