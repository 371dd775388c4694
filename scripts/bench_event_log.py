"""Benchmark of a delivery run against a large event log, and how its time grows with the log.

    .venv/bin/python scripts/bench_event_log.py                  # empty, large and 10x log
    .venv/bin/python scripts/bench_event_log.py --quick          # empty and large log only
    .venv/bin/python scripts/bench_event_log.py --patients 20000 --registrations 20 --optouts 200000

What it does (docs/performance.md, "Event log"):

1. generates one deterministic demo CSV export (``--patients``, default
   20,000: small on purpose, so what the log costs a run is not hidden in
   the run) and starts a reference TTP, as ``bench_pipeline.py`` does;
2. delivers it once against an empty log (``log_empty_*``);
3. writes a synthetic history through the real store API
   (:mod:`aanlevering.demo.event_history`): ``--months`` (60: five years) of
   monthly deliveries for ``--registrations`` (20), each with its opt-out
   counts, validation, pseudonymisation, staged/receipted events, delivery
   contents and record digests, plus ``--optouts`` (200,000) opt-outs, one
   stream per patient, plus the five years before ``PERIOD`` of the
   benchmark's own registration with ``--patients`` record digests per
   dataset, which the run looks its records up in (decision 0466); then
   delivers the same export against it (``log_large_*``);
4. unless ``--quick``: a copy of that log with nine times as much again
   (ten times the registrations and the opt-outs in all), and the same
   delivery once more (``log_large10x_*``).

Each delivery runs in its own worker process (``bench_pipeline.py --worker``:
the stages of ``STAGES``, timed one by one) in a home of its own with its own
copy of the log, so every run is a first delivery of its period;
``--repeat`` (2) deliveries per log, of which the fastest counts (this
machine is shared: load makes single runs vary by more than the log);
``--repeat-large-only``: the empty and the grown log once each (the smoke
test's, decision 0872). After each
run against a large log, this process times what a run reads of the log
(its patients' opt-outs, its period's ledger, its register status:
``<label>_reads_indexed``) and, for the large log, the whole-log replay runs
did before (``log_large_reads_replay``), checking both give the same answers.

Prints ``bench: run_with_large_log`` (the run against the large log),
``run_with_large_log_over_empty``, ``run_with_large_log_growth`` (10x log over
the large log; the target is at most 1.2) and
``run_with_large_log_reads_growth`` (the same for the log reads alone, which
machine load disturbs less), plus the size and build time of each log.
``--store postgres`` runs the same against a throwaway PostgreSQL server
(``pg_`` figures; needs the server binaries, ``make system-deps``). Not a
test: nothing asserts timings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import bench_pipeline as pipeline

from aanlevering.demo.event_history import HistoryShape, write_history
from aanlevering.events.factory import open_event_store

REPO = Path(__file__).resolve().parents[1]
#: The datasets of the benchmark's registration (the DSAA dictionary's).
BENCH_DATASETS = ("complicatie", "operatie")


def _log_size_mib(url: str) -> float:
    if url.startswith("sqlite:///"):
        path = Path("/" + url.removeprefix("sqlite:///").lstrip("/"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT pg_total_relation_size('event_log')").fetchone()
    return float(row[0] if row else 0) / 2**20


def build_log(figures: pipeline.Figures, label: str, url: str, shapes: list[HistoryShape]) -> None:
    """Write the histories into the store at ``url``; time, events and size as figures."""
    started = time.perf_counter()
    events = 0
    with open_event_store(url) as store:
        for shape in shapes:
            events += write_history(store, shape).events
        total = store.last_position()
    figures.add(f"{label}_build", time.perf_counter() - started, "s")
    figures.add(f"{label}_events", total, "events")
    figures.add(f"{label}_appended", events, "events")
    figures.add(f"{label}_size", _log_size_mib(url), "MiB")


@contextmanager
def postgres_server(work: Path) -> Iterator[Any]:
    """A throwaway PostgreSQL cluster on loopback (the one the tests use)."""
    sys.path.insert(0, str(REPO / "tests"))
    from support.postgres import ThrowawayCluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL server binaries not found (make system-deps)")
    cluster = ThrowawayCluster(bindir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _new_database(cluster: Any, name: str) -> str:
    import psycopg

    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return str(cluster.url(name))


def _store_url(home: Path, cluster: Any, name: str) -> str:
    if cluster is None:
        return f"sqlite:///{home / 'events.sqlite3'}"
    return _new_database(cluster, name)


def _deliver(
    figures: pipeline.Figures,
    label: str,
    inputs: tuple[Path, Path],
    env: dict[str, str],
) -> float:
    items = pipeline.run_worker(label, inputs[0], inputs[1], env)
    figures.items.extend(items)
    return float(next(f["value"] for f in items if f["name"] == f"{label}_run"))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000, help="patients in the delivery")
    parser.add_argument("--registrations", type=int, default=20)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--patients-per-delivery", type=int, default=500)
    parser.add_argument("--optouts", type=int, default=200_000)
    parser.add_argument("--growth", type=int, default=10, help="the larger log, times the large")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="no growth run (no 10x log)")
    parser.add_argument(
        "--repeat", type=int, default=2, help="deliveries per log (the fastest counts: load)"
    )
    parser.add_argument(
        "--repeat-large-only",
        action="store_true",
        help="repeat the deliveries against the large log only (the others once)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path.home() / ".cache" / "aanlevering" / "bench-event-log",
        help="built SQLite logs kept here between runs (keyed by shape and sources)",
    )
    parser.add_argument("--no-cache", dest="cache_dir", action="store_const", const=None)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--results", type=Path, help="also write the figures here (JSON)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    return parser.parse_args()


def _cache_file(args: argparse.Namespace, shapes: list[HistoryShape]) -> Path | None:
    """Where a built SQLite log of these shapes is kept between runs (None: no cache).

    Why: the 10x log (2.2 million events) takes minutes to write, and it is
    set-up, not a figure. The key covers the shapes and the sources that
    decide the bytes (the history generator, the event classes it writes,
    the store), so a change to any of them builds afresh.
    """
    if args.cache_dir is None or args.store != "sqlite":
        return None
    digest = hashlib.sha256(repr(shapes).encode())
    source = REPO / "src" / "aanlevering"
    for path in sorted(
        [
            source / "demo" / "event_history.py",
            *(source / "events").glob("*.py"),
            *(source / name / "events.py" for name in ("deliver", "optout", "pseudonym")),
            source / "deliver" / "record_digests.py",
            source / "validate" / "events.py",
        ]
    ):
        digest.update(path.read_bytes())
    return args.cache_dir / f"history-{digest.hexdigest()[:24]}.sqlite3"


def _log_from_cache(
    args: argparse.Namespace,
    figures: pipeline.Figures,
    label: str,
    url: str,
    shapes: list[HistoryShape],
) -> None:
    """Fill the log at ``url`` (holding ``shapes[:-1]`` already) from the cache or by writing."""
    cached = _cache_file(args, shapes)
    target = Path("/" + url.removeprefix("sqlite:///").lstrip("/")) if cached else None
    if cached is not None and target is not None and cached.exists():
        started = time.perf_counter()
        shutil.copyfile(cached, target)
        figures.add(f"{label}_from_cache", time.perf_counter() - started, "s")
        with open_event_store(url) as store:
            figures.add(f"{label}_events", store.last_position(), "events")
        figures.add(f"{label}_size", _log_size_mib(url), "MiB")
        return
    build_log(figures, label, url, shapes[-1:])
    if cached is not None and target is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial")
        shutil.copyfile(target, partial)
        partial.replace(cached)


def _shapes(args: argparse.Namespace) -> tuple[HistoryShape, HistoryShape]:
    """The large log's history, and what the grown log has on top of it."""
    base = HistoryShape(
        registrations=args.registrations,
        months=args.months,
        patients_per_delivery=args.patients_per_delivery,
        optouts=args.optouts,
        seed=args.seed,
        prior_registration=pipeline.BENCH_REGISTRATION,
        prior_periods=tuple(str(int(pipeline.PERIOD) - back) for back in range(5, 0, -1)),
        prior_datasets=BENCH_DATASETS,
        prior_records=args.patients,
    )
    extra = replace(
        base,
        registrations=base.registrations * (args.growth - 1),
        optouts=base.optouts * (args.growth - 1),
        registration_prefix="more",
        seed=args.seed + 1,
        prior_registration=None,
        prior_periods=(),
    )
    return base, extra


def _clone(source: str, home: Path, cluster: Any, name: str) -> str:
    """A copy of the log at ``source`` for another run (a file copy, or a template database)."""
    if cluster is None:
        target = home / "events.sqlite3"
        shutil.copyfile(source.removeprefix("sqlite://"), target)
        return f"sqlite:///{target}"
    import psycopg

    template = source.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return str(cluster.url(name))


def log_reads(figures: pipeline.Figures, label: str, url: str, *, replay: bool) -> float:
    """What the run reads of the log, timed in this process: indexed, and (``replay``) as before.

    The run's patients are those its delivery contents name (it just ran).
    """
    from aanlevering.deliver.ledger import load_period_ledger, project_ledger
    from aanlevering.obligation.status import load_status
    from aanlevering.optout.events import contents_stream
    from aanlevering.optout.register import OptOutRegister

    registration, period = pipeline.BENCH_REGISTRATION, pipeline.PERIOD
    with open_event_store(url) as store:
        refs = [
            ref
            for record in store.read_stream(contents_stream(registration, period, 1))
            for ref in record.payload["patient_refs"]
        ]
        started = time.perf_counter()
        register = OptOutRegister.load_for(store, refs)
        versions = load_period_ledger(store, registration, period).versions(registration, period)
        load_status(store, registration)
        indexed = time.perf_counter() - started
        figures.add(f"{label}_reads_indexed", indexed, "s")
        figures.add(f"{label}_reads_patients", len(refs), "patients")
        if replay:
            started = time.perf_counter()
            records = list(store.read_all())
            replayed = OptOutRegister.from_records(records)
            old_versions = project_ledger(records).versions(registration, period)
            figures.add(f"{label}_reads_replay", time.perf_counter() - started, "s")
            assert old_versions == versions  # the same answer, read two ways
            assert all(register.optouts_of(r) == replayed.optouts_of(r) for r in refs)
    return indexed


def measure(args: argparse.Namespace, work: Path, cluster: Any, figures: pipeline.Figures) -> None:
    """Deliver the same export against each log, each in a home and worker of its own."""
    prefix = "" if cluster is None else "pg_"
    catalogue = pipeline.write_catalogue(work / "catalogue")
    out = work / "demo"
    seconds = pipeline.generate(catalogue, out, args.patients, "csv", args.seed)
    figures.add(f"{prefix}log_run_generate", seconds, "s")
    inputs = (out / "csv-utf8", out / "optouts.csv")
    base, extra = _shapes(args)
    grown = f"large{args.growth}x"
    plans = ["empty", "large"] + ([grown] if not args.quick and args.growth > 1 else [])
    (work / "template").mkdir()
    template = _store_url(work / "template", cluster, "bench_template")
    _log_from_cache(args, figures, f"{prefix}log_large_log", template, [base])
    ttp = pipeline.start_ttp(work, catalogue)
    runs: dict[str, float] = {}
    reads: dict[str, float] = {}
    try:
        for name in plans:
            label = f"{prefix}log_{name}"
            source = template
            if name == grown:  # the large log and nine times as much again
                (work / "grown").mkdir()
                source = _clone(template, work / "grown", cluster, f"bench_{name}_template")
                _log_from_cache(args, figures, f"{label}_log", source, [base, extra])
            times: list[float] = []
            repeats = 1 if args.repeat_large_only and name != "large" else args.repeat
            for repeat in range(repeats):  # each on a fresh copy: a first delivery each time
                run_label = label if repeat == 0 else f"{label}_again{repeat if repeat > 1 else ''}"
                home = work / f"home-{name}-{repeat}"
                env = pipeline.worker_env(home, catalogue, ttp)
                if name == "empty":
                    url = _store_url(home, cluster, f"bench_{name}_{repeat}")
                else:
                    url = _clone(source, home, cluster, f"bench_{name}_{repeat}")
                env["AANLEVERING_EVENT_STORE"] = url
                times.append(_deliver(figures, run_label, inputs, env))
                if name != "empty":
                    seconds = log_reads(
                        figures, run_label, url, replay=name == "large" and repeat == 0
                    )
                    reads[name] = min(reads.get(name, seconds), seconds)
            runs[name] = min(times)
            figures.add(f"{label}_best_run", runs[name], "s")
    finally:
        ttp.stop()
    figures.add(f"{prefix}run_with_large_log", runs["large"], "s")  # the fastest of --repeat
    figures.add(f"{prefix}run_with_large_log_over_empty", runs["large"] / runs["empty"], "x")
    if grown in runs:
        figures.add(f"{prefix}run_with_large_log_growth", runs[grown] / runs["large"], "x")
        figures.add(f"{prefix}run_with_large_log_reads_growth", reads[grown] / reads["large"], "x")


def main() -> int:
    args = _arguments()
    figures = pipeline.Figures()
    work = Path(tempfile.mkdtemp(prefix="bench-event-log-"))
    try:
        with contextmanager_or_none(args.store == "postgres", work) as cluster:
            measure(args, work, cluster, figures)
    finally:
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.results is not None:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps({"figures": figures.items}, indent=2) + "\n", "utf-8")
    return 0


@contextmanager
def contextmanager_or_none(wanted: bool, work: Path) -> Iterator[Any]:
    """The PostgreSQL server when ``wanted``, else None."""
    if not wanted:
        yield None
        return
    with postgres_server(work) as cluster:
        yield cluster


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
