"""scripts/bench_pipeline.py's peak RSS counts the memory of the processes a run starts too.

``ru_maxrss`` sees one process; the FHIR extract reads part of its input in a
worker process (decision 0317), so the bench's ``*_peak_rss`` figures sum the
worker's tree (``TreePeak``). Here a child holds 300 MiB while the sampler runs.
"""

from __future__ import annotations

import importlib.util
import resource
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import psutil

REPO = Path(__file__).resolve().parents[3]
HOLD = (
    "import sys, time\n"
    "block = bytearray(300 << 20)\n"
    "block[:: 4096] = b'x' * len(block[:: 4096])\n"  # every page touched: resident
    "print('held', flush=True)\n"
    "time.sleep(0.6)\n"
)


def _bench_pipeline() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_pipeline_tree_peak", REPO / "scripts" / "bench_pipeline.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _hold_in_a_child() -> None:
    with subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"held"
        assert child.wait(timeout=30) == 0


def _rss_mib() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def test_the_peak_counts_a_child_process_alongside_this_one() -> None:
    tree = _bench_pipeline().TreePeak()
    try:
        now = _rss_mib()
        _hold_in_a_child()
        time.sleep(0.1)
        assert tree.peak / 2**20 >= now + 250  # the child's 300 MiB on top of this process
        assert tree.mib() >= tree.peak / 2**20
        assert tree.mib() >= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        tree.stop()


def test_descendants_only_leaves_this_process_out() -> None:
    tree = _bench_pipeline().TreePeak(descendants_only=True)
    try:
        _hold_in_a_child()
        now = _rss_mib()
        assert now > 30
        assert 250 <= tree.peak / 2**20 < 300 + now  # the child's, not this process's on top
        assert tree.mib() >= resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    finally:
        tree.stop()
