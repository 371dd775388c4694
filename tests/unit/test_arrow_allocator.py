"""Arrow's allocator gives freed memory back (decisions 0237, 0311).

The FHIR extract frees and allocates hundreds of MiB of Arrow buffers in turn; with
mimalloc's default delay the freed pages stayed resident and raised the peak. Each
case runs in its own interpreter: the settings are read once, before pyarrow allocates.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

_PROBE = """
import sys
import time
import aanlevering
import psutil
import pyarrow as pa
process = psutil.Process()
before = process.memory_info().rss
arrays = [pa.array([b"x" * 100] * 4000, pa.binary()) for _ in range(600)]
held = process.memory_info().rss - before
del arrays
left = process.memory_info().rss - before
for _ in range(int(sys.argv[1])):  # returned after the decay time (0: at once)
    if left < held / 3:
        break
    time.sleep(0.05)
    left = process.memory_info().rss - before
print(pa.default_memory_pool().backend_name, held >> 20, left >> 20)
"""

_SETTINGS = ("ARROW_DEFAULT_MEMORY_POOL", "MIMALLOC_PURGE_DELAY", "JE_ARROW_MALLOC_CONF")


def _probe(waits: int = 60, **settings: str) -> tuple[str, int, int]:
    """Backend, MiB resident while ~300-450 MiB of Arrow arrays live, and after they are freed.

    ``waits``: 50 ms waits allowed for the freed memory to go (0: measured at once).
    """
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    env.update(settings)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(waits)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    backend, held, left = done.stdout.split()
    return backend, int(held), int(left)


def test_importing_the_package_chooses_jemalloc_which_returns_freed_memory() -> None:
    backend, held, left = _probe()
    assert backend == "jemalloc"
    assert held > 200
    assert left < held / 3


def test_jemalloc_returns_freed_memory_at_once_not_after_a_decay_time() -> None:
    """Decision 0311: the pages the FHIR extract frees must not stand under every later stage."""
    backend, held, left = _probe(waits=0)
    assert backend == "jemalloc"
    assert held > 200
    assert left < held / 4  # about 50 of 300 MiB: the probe's own Python objects


def test_jemalloc_with_a_decay_time_keeps_freed_memory_so_the_test_can_fail() -> None:
    conf = "dirty_decay_ms:10000,muzzy_decay_ms:10000"
    backend, held, left = _probe(waits=0, JE_ARROW_MALLOC_CONF=conf)
    assert backend == "jemalloc"
    assert held > 200
    assert left > held / 3  # about 130 of 300 MiB


def test_mimalloc_when_chosen_returns_freed_memory_at_once() -> None:
    backend, held, left = _probe(ARROW_DEFAULT_MEMORY_POOL="mimalloc")
    assert backend == "mimalloc"
    assert held > 300
    assert left < held / 3


def test_mimalloc_with_its_delay_keeps_freed_memory_so_the_test_can_fail() -> None:
    backend, held, left = _probe(ARROW_DEFAULT_MEMORY_POOL="mimalloc", MIMALLOC_PURGE_DELAY="10000")
    assert backend == "mimalloc"
    assert held > 300
    assert left > held * 2 / 3


def test_the_image_chooses_jemalloc_for_a_process_that_imports_pyarrow_first() -> None:
    """Airflow or a script may load pyarrow before the package sets its default."""
    from pathlib import Path

    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text(encoding="utf-8")
    image_env = dict(re.findall(r"\b(ARROW_DEFAULT_MEMORY_POOL|\w*MALLOC\w*)=(\S+)", dockerfile))
    clean = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    defaults = "import aanlevering, json, os; print(json.dumps({k: os.environ[k] for k in %r}))"
    package = subprocess.run(
        [sys.executable, "-c", defaults % (_SETTINGS,)],
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    assert image_env == json.loads(package.stdout)  # the image sets what the package sets
    env = clean | image_env
    probe = "import pyarrow as pa; pa.array([1]); print(pa.default_memory_pool().backend_name)"
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "jemalloc"
