"""Benchmark of the demo-data generator, CSV and FHIR measured separately.

    .venv/bin/python scripts/bench_demo_data.py                  # 100k CSV, 20k FHIR
    .venv/bin/python scripts/bench_demo_data.py --csv-patients 1000000 --fhir-patients 0

For each format it generates ``--*-patients`` patients for every registration
(or ``--registration``) into a temporary folder and prints

    bench: demo_data_<fmt>_per_100k <seconds> s

the time per 100,000 patients of one registration (total time divided by
patients x registrations / 100,000), plus the whole run's time. Record the
figures in docs/demo-data.md. Not a test: nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from aanlevering.catalogue import load_catalogue
from aanlevering.demo import DemoOptions, generate_demo_data

REPO = Path(__file__).resolve().parents[1]


def bench(fmt: str, patients: int, registrations: tuple[str, ...], seed: int) -> None:
    catalogue = load_catalogue(REPO / "schemas" / "catalogue")
    selected = registrations or tuple(config.id for config in catalogue)
    work = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    try:
        started = time.perf_counter()
        generate_demo_data(
            catalogue,
            DemoOptions(
                out_dir=work / "demo",
                patients=patients,
                seed=seed,
                registrations=selected,
                formats=frozenset({fmt}),
            ),
            progress=lambda message: print(message, file=sys.stderr),
        )
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in (work / "demo").rglob("*") if p.is_file())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per_100k = seconds / (patients * len(selected) / 100_000)
    print(
        f"run: {fmt} {patients} patients x {len(selected)} registrations "
        f"in {seconds:.1f} s, {size / 1e6:.0f} MB"
    )
    print(f"bench: demo_data_{fmt}_per_100k {per_100k:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv-patients", type=int, default=100_000)
    parser.add_argument("--fhir-patients", type=int, default=20_000)
    parser.add_argument("--registration", action="append", default=[])
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.csv_patients:
        bench("csv", args.csv_patients, tuple(args.registration), args.seed)
    if args.fhir_patients:
        bench("fhir", args.fhir_patients, tuple(args.registration), args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
