"""Benchmark of the validation stage: suite build and validation time for N records.

    .venv/bin/python scripts/bench_validate.py --rows 1000000
    .venv/bin/python scripts/bench_validate.py --rows 200000 --source demo --registration nkr-borst

``--source synthetic`` (default) builds a dictionary-valid Arrow extract in
memory (aanlevering.validate.synthetic) and spoils ``--bad-share`` of the
records (a code outside its option set, a number out of range, a missing
required value), so the failing path with row detail is measured too.
``--source demo`` writes demo CSV exports and reads them with the real
extract first (extract time is printed, not counted).

Prints ``bench: validate_<rows> <seconds> s`` (validation, without data docs
unless ``--data-docs``), plus the GX import and suite build times. Record
the figure in docs/performance.md. Not a test: nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.extract.model import Extract, ExtractedDataset
from aanlevering.periods import Period

REPO = Path(__file__).resolve().parents[1]


def spoil(config: RegistrationConfig, data: Extract, share: float, seed: int) -> Extract:
    """Spoil ``share`` of the first dataset's records in three ways (a third each)."""
    if share <= 0:
        return data
    definition = config.dictionary.datasets[0]
    dataset = data.datasets[definition.name]
    n = dataset.num_rows
    rng = np.random.default_rng(seed)
    kind = np.where(rng.random(n) < share, rng.integers(0, 3, n), -1)
    table = dataset.clinical
    coded = next(v for v in definition.variables if v.option_set)
    ranged = next(v for v in definition.variables if v.max is not None)
    required = next(
        v for v in definition.variables if v.required_for and v.name not in definition.key
    )
    for variable, which, value in (
        (coded, 0, pa.scalar("??")),
        (ranged, 1, pa.scalar(ranged.max * 10, table.schema.field(ranged.name).type)),
        (required, 2, pa.scalar(None, table.schema.field(required.name).type)),
    ):
        index = table.column_names.index(variable.name)
        column = table.column(index)
        spoilt = pc.if_else(pa.array(kind == which), value, column)
        table = table.set_column(index, variable.name, spoilt)
    spoilt_dataset: ExtractedDataset = replace(dataset, clinical=table)
    return replace(data, datasets={**data.datasets, definition.name: spoilt_dataset})


def demo_extract(config: RegistrationConfig, rows: int, seed: int, work: Path) -> Extract:
    from aanlevering.demo import DemoOptions, generate_demo_data
    from aanlevering.extract import extract

    catalogue = load_catalogue(REPO / "schemas" / "catalogue")
    started = time.perf_counter()
    out = work / "demo"
    options = DemoOptions(out, rows, seed, registrations=(config.id,), formats=frozenset({"csv"}))
    generate_demo_data(catalogue, options)
    print(f"demo data: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    started = time.perf_counter()
    data = extract(config, out / "csv-utf8", Period.parse("2026"))
    print(f"extract: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--registration", default="dica-dsaa")
    parser.add_argument("--source", choices=("synthetic", "demo"), default="synthetic")
    parser.add_argument("--bad-share", type=float, default=0.01)
    parser.add_argument("--child-ratio", type=float, default=0.4)
    parser.add_argument("--provider-type", default="umc")
    parser.add_argument("--data-docs", action="store_true")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    config = load_catalogue(REPO / "schemas" / "catalogue").get(args.registration)
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        if args.source == "demo":
            data = demo_extract(config, args.rows, args.seed, work)
        else:
            from aanlevering.validate.synthetic import synthetic_extract

            data = synthetic_extract(
                config,
                Period.parse("2026"),
                args.rows,
                seed=args.seed,
                child_ratio=args.child_ratio,
            )
            print(f"synthetic extract: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        data = spoil(config, data, args.bad_share, args.seed)

        from aanlevering.validate.gx import file_context_dir, import_gx
        from aanlevering.validate.service import validate_extract
        from aanlevering.validate.suites import load_suite_document

        started = time.perf_counter()
        import_gx()
        print(f"bench: gx_import {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        for dataset in config.dictionary.datasets:
            load_suite_document(config.dictionary, dataset, args.provider_type, file_context_dir())
        print(f"bench: suite_build {time.perf_counter() - started:.2f} s")

        started = time.perf_counter()
        outcome = validate_extract(
            data,
            config,
            provider_type=args.provider_type,
            report_dir=work / "report",
            data_docs=args.data_docs,
        )
        seconds = time.perf_counter() - started
        records = ", ".join(f"{name} {count}" for name, count in outcome.rows.items())
        print(
            f"{config.id}: {records}; {outcome.checks} checks, {outcome.failed_errors} error "
            f"and {outcome.failed_warnings} warning checks failed",
            file=sys.stderr,
        )
        print(f"bench: validate_{args.rows} {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
