"""How many processes a stage that can split its work starts by default (decision 1011).

The FHIR read (0317), the FHIR output's minimised sources (0318) and the demo
generator's FHIR chunks (0988) share one answer: two, or one where the process
may run on one core only (``taskset``, a container's cpuset).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
ASKED = (
    "from aanlevering import worker_processes;"
    "from aanlevering.extract.options import default_read_workers;"
    "from aanlevering.output.source_parts import minimise_workers;"
    "print(worker_processes.default_workers(), default_read_workers(), minimise_workers())"
)


def defaults(cores: set[int] | None) -> list[int]:
    """The three defaults in a fresh process limited to ``cores`` (None: no limit)."""
    limit = "" if cores is None else f"import os; os.sched_setaffinity(0, {cores!r});"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"AANLEVERING_FHIR_READ_WORKERS", "AANLEVERING_FHIR_MINIMISE_WORKERS"}
    }
    env["PYTHONPATH"] = str(SRC)
    done = subprocess.run(
        [sys.executable, "-c", limit + ASKED],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    return [int(word) for word in done.stdout.split()]


def test_one_core_allowed_means_one_process_for_every_stage() -> None:
    (core, *_) = sorted(os.sched_getaffinity(0))
    assert defaults({core}) == [1, 1, 1]


def test_without_a_limit_every_stage_takes_two_processes_on_two_cores_or_more() -> None:
    expected = min(2, len(os.sched_getaffinity(0)))
    assert defaults(None) == [expected] * 3
