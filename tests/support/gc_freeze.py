"""Keep the cyclic garbage collector off the objects earlier tests left behind (decision 0811).

A pytest worker of the whole suite holds millions of long-lived objects
(Great Expectations, Airflow, pandas, the catalogue, module-scoped fixtures).
Every full collection walks all of them, so an allocation-heavy test (a fuzz
loop, a demo export, a validation) paid for the whole suite before it:
the fuzz loops ran 3 to 30 times slower in the suite than alone.

After each test this plugin collects what that test left as garbage and then
freezes the survivors (:func:`gc.freeze`): later collections skip them.
Reference counting still frees frozen objects; only cycles among them would
stay, so every ``_REFREEZE_EVERY`` tests everything is unfrozen, collected in
full and frozen again, which bounds that. ``AANLEVERING_TEST_GC=plain``
turns the plugin off (to compare, or to look for a leak).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Generator
from typing import Any

import pytest

ENV = "AANLEVERING_TEST_GC"
_REFREEZE_EVERY = 250
_ENABLED = os.environ.get(ENV, "freeze").strip().lower() != "plain"
_state = {"tests": 0, "gc_seconds": 0.0, "started": 0.0}


def _timed(phase: str, info: dict[str, Any]) -> None:
    """gc callback: add each collection's duration (for ``AANLEVERING_TEST_GC_REPORT``)."""
    if phase == "start":
        _state["started"] = time.perf_counter()
    else:
        _state["gc_seconds"] += time.perf_counter() - _state["started"]


if os.environ.get("AANLEVERING_TEST_GC_REPORT"):
    gc.callbacks.append(_timed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """After the test (and its teardown): collect its garbage, freeze the rest."""
    yield
    if not _ENABLED:
        return
    _state["tests"] += 1
    if _state["tests"] % _REFREEZE_EVERY == 0:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With ``AANLEVERING_TEST_GC_REPORT`` set: write the seconds spent collecting."""
    report = os.environ.get("AANLEVERING_TEST_GC_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {ENV}={_ENABLED} gc_seconds={_state['gc_seconds']:.2f}\n")
