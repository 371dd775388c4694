"""Collect the ``bench:`` lines every benchmark script printed into one results file.

    .venv/bin/python scripts/collect_bench_results.py --out bench/results.json LOG...

``scripts/bench.sh`` (``make bench``) runs it last over the saved output of
each ``scripts/bench_*.py``, so every script's figures land in the results
(not only those a script writes itself), with the script that printed them
and the machine. Not named ``bench_*`` so ``make bench`` does not run it as a
benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

LINE = re.compile(r"^bench: (\S+) (-?[0-9.]+(?:e[+-]?\d+)?) ?(\S*)\s*$")


def figures_of(log: Path) -> list[dict[str, Any]]:
    """Every ``bench: <name> <value> <unit>`` line of one script's output, in order."""
    script = log.stem if log.stem.startswith("bench_") else ""
    found: list[dict[str, Any]] = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = LINE.match(line.strip())
        if match is None:
            continue
        name, value, unit = match.groups()
        number = float(value)
        figure: dict[str, Any] = {
            "name": name,
            "value": int(number) if number.is_integer() and "." not in value else number,
            "unit": unit,
        }
        if script:
            figure["script"] = script
        found.append(figure)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="the figures of a --quick run")
    parser.add_argument("logs", type=Path, nargs="+")
    args = parser.parse_args()
    figures = [figure for log in sorted(args.logs) for figure in figures_of(log)]
    document = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        },
        "quick": args.quick,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "figures": figures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"results: {args.out} ({len(figures)} figures)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
