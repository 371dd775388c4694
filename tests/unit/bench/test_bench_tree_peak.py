"""scripts/bench_pipeline.py's peak RSS counts the memory of the processes a run starts too.

``ru_maxrss`` sees one process; the FHIR extract reads part of its input in a
worker process (decision 0317), so the bench's ``*_peak_rss`` figures sum the
worker's tree (``TreePeak``). Here a child holds 300 MiB while the sampler runs.
"""

from __future__ import annotations

import importlib.util
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import psutil

REPO = Path(__file__).resolve().parents[3]
BENCH_PIPELINE = REPO / "scripts" / "bench_pipeline.py"
HOLD = (
    "import sys, time\n"
    "block = bytearray(300 << 20)\n"
    "block[:: 4096] = b'x' * len(block[:: 4096])\n"  # every page touched: resident
    "print('held', flush=True)\n"
    "time.sleep(0.6)\n"
)


def _bench_pipeline() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_pipeline_tree_peak", BENCH_PIPELINE)
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


#: Measured in a fresh interpreter: a pytest worker has descendants of its own (the CLI
#: zygote of tests/support/cli_zygote.py, about 450 MiB) that the sum would rightly count.
DESCENDANTS_ONLY = f"""
import importlib.util, json, resource, subprocess, sys, time
import psutil
spec = importlib.util.spec_from_file_location("bench_pipeline", {str(BENCH_PIPELINE)!r})
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
assert psutil.Process().children(recursive=True) == []
tree = module.TreePeak(descendants_only=True)
with subprocess.Popen([sys.executable, "-c", {HOLD!r}], stdout=subprocess.PIPE) as child:
    assert child.stdout.readline().strip() == b"held"
    assert child.wait(timeout=30) == 0
figures = {{
    "peak_mib": tree.peak / 2**20,
    "mib": tree.mib(),
    "children_maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "own_mib": psutil.Process().memory_info().rss / 2**20,
}}
tree.stop()
print(json.dumps(figures))
"""


def test_descendants_only_leaves_this_process_out() -> None:
    done = subprocess.run(
        [sys.executable, "-c", DESCENDANTS_ONLY],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["own_mib"] > 30
    # The child's 300 MiB, not the measuring process's own memory on top.
    assert 250 <= figures["peak_mib"] < 300 + figures["own_mib"], figures
    assert figures["mib"] >= figures["children_maxrss_mib"], figures
