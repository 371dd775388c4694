"""CPU per stage of whole runs with two source trees in turn (decision 0550; not a test).

    .venv/bin/python scripts/compiled_ab_probe.py WORK --fhir-patients 200000 \\
        --csv-patients 200000 --rounds 3 --side plain=src --side compiled=/tmp/c/src

Why: on a machine shared with other engineers' runs, wall seconds of one run say
little; CPU seconds (user + system) of runs of the two sides taken in turn do. A
``--side NAME=SRC`` is a source tree put first on ``PYTHONPATH`` of the worker process
(e.g. this worktree's ``src``, and the ``src`` of a copy of the whole checkout with
mypyc-built ``.so`` files next to the sources: the catalogue's schemas are found from
the sources' folder). Each run is a :func:`bench_pipeline.worker` delivery in a fresh process
(the same stages, TTP and keys as ``make bench``); this script only wraps its ``stage``
to add ``<stage>_cpu``: CPU of the worker and of the children it waited for during the
stage (the extract's reading workers, the output's second part), not of the TTP.

The exports are generated once into ``WORK`` and kept (delete ``WORK`` yourself). All
runs share one set of secrets (the local keys too) and one TTP, and a run's delivery
version is 1 in its own home, so every run delivers the same data files (the manifest,
receipt and reports carry times and run ids): the sha256 of each delivered file is
printed per run (``bench: <label>_<side>_<round>_sha256 <file> <digest>``). Not named
``bench_*``: ``make bench`` runs those without arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import bench_pipeline  # noqa: E402 - the bench's own helpers, from its folder


def _cpu() -> float:
    """User + system CPU seconds of this process and of its waited-for children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _stage_with_cpu(original: Any) -> Any:
    """``bench_pipeline.stage`` that also adds ``<name>_cpu``."""

    @contextmanager
    def stage(figures: Any, name: str) -> Iterator[None]:
        before = _cpu()
        with original(figures, name):
            yield
        figures.add(f"{name}_cpu", _cpu() - before, "s")

    return stage


def _digests(outbox: Path) -> list[tuple[str, str]]:
    """sha256 of every delivered file, by its path in the outbox."""
    found = []
    for path in sorted(p for p in outbox.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        found.append((str(path.relative_to(outbox)), digest.hexdigest()))
    return found


def _run(
    label: str,
    run: tuple[Path, Path | None],
    env: dict[str, str],
    home: Path,
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """One delivery in a fresh process of this script (worker mode); its figures and files."""
    input_dir, optouts = run
    command = [sys.executable, __file__, "--worker", label, "--input", str(input_dir)]
    if optouts is not None:
        command += ["--optouts", str(optouts)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"worker {label} failed:\n{done.stderr[-3000:]}")
    figures: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures, _digests(home / "outbox")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, nargs="?")
    parser.add_argument("--csv-patients", type=int, default=0)
    parser.add_argument("--fhir-patients", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep each run's home (delivery)")
    parser.add_argument("--side", action="append", default=[], help="NAME=SRC, two or more")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--optouts", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def _exports(args: argparse.Namespace, work: Path, catalogue: Path) -> list[Any]:
    """(label, (input folder, opt-outs or None)) of each export, generated once into ``work``."""
    runs: list[Any] = []
    for patients, fmt in ((args.csv_patients, "csv"), (args.fhir_patients, "fhir")):
        if not patients:
            continue
        out = work / f"demo-{fmt}-{patients}"
        if not (out / "done").exists():
            shutil.rmtree(out, ignore_errors=True)
            bench_pipeline.generate(catalogue, out, patients, fmt, args.seed)
            (out / "done").touch()
        label = f"{fmt}_{bench_pipeline._short(patients)}"
        if fmt == "csv":
            runs.append((label, (out / "csv-utf8", out / "optouts.csv")))
        else:
            runs.append((label, (out / "fhir-bulk" / bench_pipeline.BASE_REGISTRATION, None)))
    return runs


def main() -> int:
    """Run every export with every side in turn, ``--rounds`` times; print the figures."""
    args = _arguments()
    if args.worker:
        bench_pipeline.stage = _stage_with_cpu(bench_pipeline.stage)
        # The worker's floor reads and writes the whole delivery again: not wanted here.
        bench_pipeline.floor = lambda *_, **__: 1.0
        items = bench_pipeline.worker(args.worker, args.input, args.optouts)
        print(json.dumps(items))
        return 0
    sides = [tuple(side.split("=", 1)) for side in args.side]
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    catalogue = work / "catalogue"
    if not catalogue.exists():
        bench_pipeline.write_catalogue(catalogue)
    runs = _exports(args, work, catalogue)
    for stale in ("ttp", "keys-home"):  # a fresh TTP and keys for this invocation's runs
        shutil.rmtree(work / stale, ignore_errors=True)
    ttp = bench_pipeline.start_ttp(work, catalogue)
    # The local keys too (each home would make its own): the same ids and record keys.
    from aanlevering.pseudonym.patient_ref import load_or_create_key

    secrets = bench_pipeline.shared_secrets(work, catalogue)
    for name in ("resource-ids.key", "patient-ref.key"):
        load_or_create_key(secrets / name)
    try:
        for round_ in range(args.rounds):
            order = sides if round_ % 2 == 0 else sides[::-1]
            for label, run in runs:
                for name, src in order:
                    home = work / f"home-{label}-{name}-{round_}"
                    shutil.rmtree(home, ignore_errors=True)
                    env = bench_pipeline.worker_env(home, catalogue, ttp)
                    env["PYTHONPATH"] = f"{Path(src).resolve()}{os.pathsep}{REPO}"
                    load = os.getloadavg()[0]
                    started = time.perf_counter()
                    figures, files = _run(label, run, env, home)
                    wall = time.perf_counter() - started
                    tag = f"{label}_{name}_{round_}"
                    print(f"bench: {tag}_load_before {load:.1f}", flush=True)
                    print(f"bench: {tag}_process_wall {wall:.1f} s", flush=True)
                    for figure in figures:
                        if figure["name"].startswith(label) and figure["unit"] == "s":
                            print(f"bench: {tag} {figure['name']} {figure['value']:.2f} s")
                    for path, digest in files:
                        print(f"bench: {tag}_sha256 {path} {digest}", flush=True)
                    if not args.keep:
                        shutil.rmtree(home, ignore_errors=True)
    finally:
        ttp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
