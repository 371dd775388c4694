"""`make bench`'s harness: every script's `bench:` lines land in one results file; --quick reaches
the scripts that take it, and a quick run never overwrites the full record.

Runs scripts/bench.sh for real, over two stand-in benchmark scripts (the real
ones take minutes to hours; tests/e2e/test_bench_smoke.py runs those small).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

TAKES_QUICK = """
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true")
args = parser.parse_args()
print("bench: first_run", 2.5 if args.quick else 7.25, "s")
print("not a figure: 1 s")
print("bench: first_size 1200 MiB")
"""
NO_QUICK = """
import sys
assert sys.argv[1:] == [], sys.argv  # never handed a flag it does not know
print("bench: second_growth 1.05 x")
"""


def _run(tmp_path: Path, *args: str, quick_env: str | None = None) -> tuple[Path, str]:
    first, second = tmp_path / "bench_first.py", tmp_path / "bench_second.py"
    first.write_text(TAKES_QUICK, encoding="utf-8")
    second.write_text(NO_QUICK, encoding="utf-8")
    results = tmp_path / ("quick.json" if "--quick" in args or quick_env else "full.json")
    env = {
        **os.environ,
        "BENCH_BIN": str(Path(sys.executable).parent),
        "BENCH_SCRIPTS": f"{first} {second}",
        "BENCH_RESULTS": str(results),
    }
    if quick_env is not None:
        env["QUICK"] = quick_env
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "bench.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return results, done.stdout


def test_every_scripts_figures_are_collected_with_the_script_and_the_total(
    tmp_path: Path,
) -> None:
    results, printed = _run(tmp_path)
    document = json.loads(results.read_text(encoding="utf-8"))
    figures = {f["name"]: f for f in document["figures"]}
    assert figures["first_run"] == {
        "name": "first_run",
        "value": 7.25,
        "unit": "s",
        "script": "bench_first",
    }
    assert figures["first_size"]["value"] == 1200
    assert figures["second_growth"]["script"] == "bench_second"
    assert "not" not in figures
    for name in ("script_bench_first_seconds", "script_bench_second_seconds"):
        assert figures[name]["unit"] == "s"
    assert figures["make_bench_seconds"]["value"] >= 0
    assert document["quick"] is False and document["machine"]["cpus"] >= 1
    printed_names = {line.split()[1] for line in printed.splitlines() if line.startswith("bench: ")}
    assert printed_names == set(figures)


def test_quick_reaches_the_scripts_that_take_it(tmp_path: Path) -> None:
    for args, quick_env in ((("--quick",), None), ((), "1")):
        results, _ = _run(tmp_path, *args, quick_env=quick_env)
        document = json.loads(results.read_text(encoding="utf-8"))
        figures = {f["name"]: f["value"] for f in document["figures"]}
        assert figures["first_run"] == 2.5 and figures["second_growth"] == 1.05
        assert document["quick"] is True


def test_an_unknown_option_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "bench.sh"), "--fast"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "usage" in done.stderr


def test_the_projects_bytecode_is_written_before_the_scripts_run(tmp_path: Path) -> None:
    """Decision 0742: with PYTHONDONTWRITEBYTECODE and stale bytecode, each task process of a
    task-path run compiled what it imported, and the task path was measured slower than it runs."""
    import importlib.util

    _run(tmp_path)
    for module in ("runs/steps.py", "pipeline/stages.py", "output/writer.py"):
        source = REPO / "src" / "aanlevering" / module
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert cached.is_file() and cached.stat().st_mtime >= source.stat().st_mtime, module
