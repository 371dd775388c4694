"""Arrow's allocator gives freed memory back at once (decision 0237).

The FHIR extract frees and allocates hundreds of MiB of Arrow buffers in turn; with
mimalloc's default delay the freed pages stayed resident and raised the peak. Each
case runs in its own interpreter: the setting is read once, before pyarrow allocates.
"""

from __future__ import annotations

import os
import subprocess
import sys

_PROBE = """
import time
import aanlevering
import psutil
import pyarrow as pa
process = psutil.Process()
before = process.memory_info().rss
arrays = [pa.array([b"x" * 100] * 4000, pa.binary()) for _ in range(600)]
held = process.memory_info().rss - before
del arrays
time.sleep(0.05)
print(held >> 20, (process.memory_info().rss - before) >> 20)
"""


def _held_and_left(delay: str | None) -> tuple[int, int]:
    """MiB resident while ~450 MiB of Arrow arrays live, and after they are freed."""
    env = {k: v for k, v in os.environ.items() if k != "MIMALLOC_PURGE_DELAY"}
    if delay is not None:
        env["MIMALLOC_PURGE_DELAY"] = delay
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    held, left = (int(part) for part in done.stdout.split())
    return held, left


def test_importing_the_package_makes_arrow_return_freed_memory() -> None:
    held, left = _held_and_left(None)
    assert held > 300
    assert left < held / 3


def test_without_the_setting_freed_memory_stays_resident_so_the_test_can_fail() -> None:
    held, left = _held_and_left("10000")
    assert held > 300
    assert left > held * 2 / 3
