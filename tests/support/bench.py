"""Run a `scripts/bench_*.py` for real, as `make bench` does, and read back what it recorded.

Why shared: every smoke test of a benchmark needs the same three checks (it
exits 0, what it printed is what it recorded) before its own assertions.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args: str, results: Path) -> dict[str, Any]:
    """Figures (name -> value) ``scripts/<script>`` printed and wrote to ``results``."""
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *args, "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = {
        line.split()[1]: float(line.split()[2])
        for line in done.stdout.splitlines()
        if line.startswith("bench: ")
    }
    recorded = {f["name"]: f["value"] for f in json.loads(results.read_text())["figures"]}
    assert printed == recorded
    return recorded
