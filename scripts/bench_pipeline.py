"""Benchmark of a whole delivery run at hospital scale, stage by stage, against its floor.

    .venv/bin/python scripts/bench_pipeline.py                       # 200k + 1M CSV and FHIR
    .venv/bin/python scripts/bench_pipeline.py --csv-patients 200000 --fhir-patients 0

What it does (docs/performance.md, "Whole run"):

1. writes a temporary catalogue: the example catalogue plus ``bench-dsaa``, the
   dica-dsaa registration with four pseudonym types (NGGV, sNGG, RGG, MRN),
   FHIR NDJSON output and the outbox channel;
2. generates deterministic demo EHR exports with ``aanlevering demo-data``
   (CSV for each ``--csv-patients``, FHIR NDJSON for ``--fhir-patients``: the bulk
   folder only, ``--formats fhir-bulk``, as the runs read nothing else; decision 0989);
3. starts a reference TTP (``aanlevering ttp serve``) on a free loopback port;
4. runs each delivery in its own worker process (so peak RSS is that run's:
   ``*_peak_rss`` is the peak of the worker and every process it started, summed,
   sampled every 25 ms, or the worker's own exact peak when larger; see
   :class:`TreePeak`),
   timing each stage of ``pipeline.stages.STAGES`` (the list the CLI and the
   Airflow DAG run: check_obligation, extract, apply_optouts, validate,
   pseudonymise with its TTP round trips, build_output, deliver,
   confirm_receipt); then the floor: reading the same input with pyarrow and
   writing the same output bytes, with no logic;
5. with ``--steps csv`` (the default) runs each CSV delivery again as Airflow
   runs it, every stage in its own process through the run folder
   (``<label>_steps_*`` figures, ``_cpu``: CPU of the step's process, and
   ``<label>_steps_over_in_process``); ``--steps smallest-csv``: the smallest
   CSV delivery only (the smoke test's, decision 0772).

Prints ``bench: <name> <value> <unit>`` per figure (``make bench`` collects them
into ``bench/results.json``) and writes them to ``--results`` when given.
``--quick``: the 200k runs only. Not a test: nothing asserts timings.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import logging
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psutil
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.channels.factory import build_channel
from aanlevering.events.factory import open_event_store
from aanlevering.optout.ingests import record_ingest
from aanlevering.optout.service import record_optouts
from aanlevering.optout.sources import mrn_hasher
from aanlevering.optout.sources.ehr_csv import read_optout_csv
from aanlevering.periods import Period
from aanlevering.pipeline.run import Ports, RunRequest, start_state
from aanlevering.pipeline.stages import STAGES, RunContext, execute_stage
from aanlevering.pipeline.state import MemoryRunState
from aanlevering.pseudonym.keys import ensure_demo_keys
from aanlevering.pseudonym.patient_ref import PatientRefHasher
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.settings import load_settings
from aanlevering.validate.gx import import_gx

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BENCH_REGISTRATION = "bench-dsaa"
BASE_REGISTRATION = "dica-dsaa"
BENCH_TYPES = ("NGGV", "sNGG", "RGG", "MRN")
PERIOD = "2026"
TODAY = date(2027, 3, 1)
HOSPITAL = "demo-hospital"
QUICK_PATIENTS = 200_000


# -- figures ------------------------------------------------------------------------------


@dataclass
class Figures:
    """Figures in print order; each is one ``bench:`` line and one entry of results.json."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, value: float, unit: str) -> None:
        """Record and print one figure at once, so a slow run still shows progress."""
        rounded = round(value, 3) if unit == "s" else round(value, 1)
        self.items.append({"name": name, "value": rounded, "unit": unit})
        print(f"bench: {name} {rounded} {unit}", flush=True)


class TreePeak:
    """Peak resident memory of this process and its live descendants, summed (a sampler thread).

    ``ru_maxrss`` is one process's own peak: a run whose FHIR extract reads part of
    the input in a worker process (decision 0317), or a task-path run whose steps
    are processes, uses the memory of several at once. The sampler adds up the RSS
    of this process and every live descendant every :attr:`interval` seconds
    (descendants are listed again every :attr:`relist` seconds: listing reads all of
    /proc, about 1 ms); :meth:`mib` is the larger of that sampled sum and this
    process's own exact ``ru_maxrss``, so a spike of this process alone between two
    samples still counts. ``descendants_only``: the task-path runs, whose steps are
    the processes measured (then the exact floor is the children's ``ru_maxrss``).
    """

    interval = 0.025
    relist = 0.2

    def __init__(self, descendants_only: bool = False) -> None:
        self.peak = 0
        self.descendants_only = descendants_only
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-peak", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        me = psutil.Process()
        children: list[psutil.Process] = []
        listed = 0.0
        while not self._stop.wait(self.interval):
            now = time.monotonic()
            if now - listed >= self.relist:
                try:
                    children = me.children(recursive=True)
                except psutil.Error:
                    children = []
                listed = now
            total = 0 if self.descendants_only else me.memory_info().rss
            for child in children:
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    continue  # ended since it was listed
            self.peak = max(self.peak, total)

    def mib(self) -> float:
        """The peak so far, in MiB: the sampled tree's or the exact single-process one, larger."""
        who = resource.RUSAGE_CHILDREN if self.descendants_only else resource.RUSAGE_SELF
        return max(self.peak / 2**20, resource.getrusage(who).ru_maxrss / 1024)

    def stop(self) -> None:
        """End the sampler thread."""
        self._stop.set()
        self._thread.join(timeout=5)


_TREE: TreePeak | None = None


def _start_tree_peak(descendants_only: bool = False) -> TreePeak:
    """The sampler of this worker process (one per process, started once)."""
    global _TREE  # noqa: PLW0603 - one sampler per worker process
    if _TREE is None:
        _TREE = TreePeak(descendants_only)
    return _TREE


def _rss_mib() -> float:
    """Peak RSS so far of this worker and the processes it started (see :class:`TreePeak`)."""
    return _start_tree_peak().mib()


# -- setup (parent process) ---------------------------------------------------------------


def write_catalogue(target: Path) -> Path:
    """The example catalogue plus the four-type, FHIR NDJSON, outbox bench registration."""
    shutil.copytree(REPO / "schemas" / "catalogue", target)
    base = target / "registrations" / f"{BASE_REGISTRATION}.yaml"
    document = yaml.safe_load(base.read_text(encoding="utf-8"))
    document["id"] = BENCH_REGISTRATION
    document["name"] = "DSAA benchmark (four pseudonym types, FHIR NDJSON with resources, outbox)"
    document["pseudonymisation"]["types"] = list(BENCH_TYPES)
    # One delivery of the whole year: a run covers a period of its registration's own
    # frequency (decision 0391), and the yearly run is what this measures.
    document["frequency"] = "year"
    # FHIR runs deliver the source resources too (issue 15), CSV runs their records.
    document["delivery"] = {"format": "fhir-ndjson", "fhir_content": "both", "channel": "outbox"}
    (target / "registrations" / f"{BENCH_REGISTRATION}.yaml").write_text(
        yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
    )
    return target


def generate(catalogue: Path, out: Path, patients: int, fmt: str, seed: int) -> float:
    """Demo EHR export of ``patients`` for the base registration, in a child process."""
    started = time.perf_counter()
    subprocess.run(
        [
            str(BIN / "aanlevering"),
            "demo-data",
            "--catalogue",
            str(catalogue),
            "--out",
            str(out),
            "--patients",
            str(patients),
            "--seed",
            str(seed),
            "--registration",
            BASE_REGISTRATION,
            "--formats",
            fmt,
            "--bad-share",
            "0",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def free_port() -> int:
    """A free TCP port on loopback (the TTP binds it right after)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class TTPProcess:
    """The reference TTP running as its own process on loopback."""

    process: subprocess.Popen[bytes]
    url: str
    api_key: str

    def stop(self) -> None:
        """Terminate the TTP this script started (and only it)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_ttp(work: Path, catalogue: Path) -> TTPProcess:
    """A reference TTP serving the catalogue's registrations; waits until /health answers."""
    import requests

    from aanlevering.counterparts.ttp.demo_config import (
        registrations_from_catalogue,
        write_demo_config,
    )

    setup = write_demo_config(work / "ttp", registrations=registrations_from_catalogue(catalogue))
    port = free_port()
    log = (work / "ttp.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aanlevering.cli.main",
            "ttp",
            "serve",
            "--config",
            str(setup.config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"TTP exited with {process.returncode}; see {work / 'ttp.log'}")
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                key = setup.api_key_files[HOSPITAL].read_text(encoding="utf-8").strip()
                return TTPProcess(process, url, key)
        except requests.ConnectionError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"TTP did not become healthy in 60 s; see {work / 'ttp.log'}")


def shared_secrets(work: Path, catalogue: Path) -> Path:
    """One hospital's keys for every worker: the TTP knows one source key per registration.

    A worker with keys of its own would be refused by the TTP (another key
    check value for the same registration and key version), as a real
    hospital with the wrong key would be.
    """
    keys_home = work / "keys-home"
    if not keys_home.exists():
        env = {"AANLEVERING_HOME": str(keys_home), "AANLEVERING_CATALOGUE": str(catalogue)}
        ensure_demo_keys(load_settings(env), [BENCH_REGISTRATION])
    return keys_home / "secrets"


def worker_env(home: Path, catalogue: Path, ttp: TTPProcess) -> dict[str, str]:
    """Environment of one run: its own home (event store, staging), the shared TTP and keys."""
    home.mkdir(parents=True)
    shutil.copytree(shared_secrets(home.parent, catalogue), home / "secrets")
    (home / "optout-rules.yaml").write_text(
        # Opt-outs count from 2027; the bench delivers 2026 with them in force, so
        # the filter removes rows (the work it does in production).
        "effective_from: 2026-01-01\nregistered_during_period: whole-period\n",
        encoding="utf-8",
    )
    return {
        **os.environ,
        "AANLEVERING_HOME": str(home),
        "AANLEVERING_CATALOGUE": str(catalogue),
        "AANLEVERING_TTP_URL": ttp.url,
        "AANLEVERING_TTP_API_KEY": ttp.api_key,
        "AANLEVERING_PROVIDER_TYPE": "umc",
        "AANLEVERING_PROVIDER_ID": HOSPITAL,
        "AANLEVERING_DEMO_MODE": "yes",  # the reference TTP and holder (decision 0710)
    }


def run_worker(
    label: str,
    input_dir: Path,
    optouts: Path | None,
    env: dict[str, str],
    *,
    steps: bool = False,
) -> list[dict[str, Any]]:
    """One delivery run in a fresh process; figures stream as printed, then come back as JSON."""
    mode = "--steps-worker" if steps else "--worker"
    command = [sys.executable, __file__, mode, label, "--input", str(input_dir)]
    if optouts is not None:
        command += ["--optouts", str(optouts)]
    figures: list[dict[str, Any]] = []
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("{") or line.startswith("["):
                figures = json.loads(line)
            else:
                print(line, end="", flush=True)
    if process.returncode != 0:
        raise SystemExit(f"worker {label} failed with exit code {process.returncode}")
    return figures


# -- one run (worker process) -------------------------------------------------------------


@contextmanager
def stage(figures: Figures, name: str) -> Iterator[None]:
    """Time one stage and the peak RSS after it; ``BENCH_PROFILE=<stage>`` profiles it.

    The peak is the process tree's (:class:`TreePeak`): the FHIR extract may read
    part of its input in a worker process of its own.

    The cProfile of the chosen stage goes to stderr, and all of it to the file
    ``BENCH_PROFILE_DUMP`` names when set (read it with :mod:`pstats`).
    """
    wanted = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile() if wanted and name.endswith(f"_{wanted}") else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    yield
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        if dump := os.environ.get("BENCH_PROFILE_DUMP"):  # the whole profile, for pstats
            profiler.dump_stats(dump)
    figures.add(name, time.perf_counter() - started, "s")
    if name != "gx_import":
        # Peak so far: the first stage whose figure jumps is the one that sets the peak.
        figures.add(f"{name}_peak_rss", _rss_mib(), "MiB")


def floor(figures: Figures, label: str, input_dir: Path, delivered: Path, work: Path) -> float:
    """Reading the same input with pyarrow and writing the same output bytes: no logic.

    The write is synced to disk file by file, as the delivery's files are
    (``output/files.py`` commits with ``fsync``): a write into the page cache
    alone took 3 to 17 s for the same 4.2 GiB depending on how much dirty
    memory the kernel held, which made ``run_over_floor`` a figure of the
    kernel's mood. The unsynced write is printed too (``_floor_write_unsynced``).
    """
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson

    files = sorted(p for p in input_dir.rglob("*") if p.suffix in {".csv", ".ndjson"})
    started = time.perf_counter()
    for path in files:
        if path.suffix == ".csv":
            pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=";"))
        else:
            pajson.read_json(path)
    read = time.perf_counter() - started
    delivered_files = sorted(p for p in delivered.rglob("*") if p.is_file())
    write = _timed_copy(delivered_files, work / "floor-out", sync=True)
    unsynced = _timed_copy(delivered_files, work / "floor-out-unsynced", sync=False)
    for copy in ("floor-out", "floor-out-unsynced"):  # GiBs each at 1M: not kept for the next run
        shutil.rmtree(work / copy, ignore_errors=True)
    figures.add(f"{label}_floor_write_unsynced", unsynced, "s")
    figures.add(f"{label}_floor_read", read, "s")
    figures.add(f"{label}_floor_write", write, "s")
    figures.add(f"{label}_floor", read + write, "s")
    figures.add(
        f"{label}_output_bytes", sum(p.stat().st_size for p in delivered_files) / 2**20, "MiB"
    )
    return read + write


def _timed_copy(files: list[Path], target: Path, *, sync: bool) -> float:
    """Seconds spent writing ``files`` into ``target`` (and syncing each), reads not counted.

    Read and written in 64 MiB pieces so a delivery of several GiB never sits
    in memory at once (the run's own peak was measured before this).
    """
    target.mkdir()
    spent = 0.0
    for path in files:
        with path.open("rb") as source, (target / path.name).open("wb") as handle:
            while piece := source.read(64 * 2**20):
                started = time.perf_counter()
                handle.write(piece)
                spent += time.perf_counter() - started
            started = time.perf_counter()
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
            spent += time.perf_counter() - started
    return spent


def worker(label: str, input_dir: Path, optouts: Path | None) -> list[dict[str, Any]]:
    """Deliver ``input_dir`` once in this process, timing each stage of ``STAGES``.

    The stages are the ones the CLI and the Airflow DAG run
    (:data:`aanlevering.pipeline.stages.STAGES`), with the in-memory run state.
    """
    figures = Figures()
    _start_tree_peak()
    settings, config, store, request = _prepare_run(optouts, input_dir)
    ttp = TTPClient(os.environ["AANLEVERING_TTP_URL"], os.environ["AANLEVERING_TTP_API_KEY"])
    ports = Ports(
        store=store,
        ttp=ttp,
        channel_for=lambda registration, outbox: build_channel(
            registration, settings, outbox=outbox, ttp=ttp
        ),
    )
    with stage(figures, "gx_import"):
        import_gx()
    started = time.perf_counter()
    state = start_state(MemoryRunState, config, settings, request)
    ctx = RunContext.from_values(config, settings, ports, state.values())
    for step in STAGES:
        with stage(figures, f"{label}_{step.name}"):
            execute_stage(step, ctx, state)
    total = time.perf_counter() - started
    _record_run(
        figures, label, total=total, values=state.values(), store=store, registration=config.id
    )
    # The run's state goes before the floor reads the input with pyarrow: at 1M FHIR patients
    # the two together passed 7.6 GiB in this worker (the run's own peak is recorded above).
    del state, ctx
    gc.collect()
    floor_seconds = floor(figures, label, input_dir, settings.home / "outbox", settings.home)
    figures.add(f"{label}_run_over_floor", total / floor_seconds, "x")
    return figures.items


def steps_worker(label: str, input_dir: Path, optouts: Path | None) -> list[dict[str, Any]]:
    """Deliver ``input_dir`` as Airflow does: each stage in its own process, over a run folder.

    The same :data:`STAGES` through :mod:`aanlevering.runs.steps`, state handed
    over as Arrow IPC files; what this costs over :func:`worker` is the
    process start-up, the catalogue load and the hand-over of each task.
    """
    figures = Figures()
    steps_peak = _start_tree_peak(descendants_only=True)
    _, config, store, request = _prepare_run(optouts, input_dir)
    os.environ[f"AANLEVERING_OUTBOX__{config.id.upper().replace('-', '_')}"] = str(request.outbox)
    started = time.perf_counter()
    summaries: dict[str, dict[str, Any]] = {}
    summary: dict[str, Any] = {}
    for step in STAGES:
        call = (
            f"start_run({config.id!r}, {PERIOD!r}, today=date.fromisoformat({TODAY.isoformat()!r}),"
            f" input_path=Path({str(input_dir)!r}), run_id={request.run_id!r})"
            if step is STAGES[0]
            else f"run_stage({step.name!r}, {summary['run_dir']!r})"
        )
        code = (
            "import json, sys\nfrom datetime import date\nfrom pathlib import Path\n"
            "from aanlevering.runs.steps import run_stage, start_run\n"
            f"print(json.dumps({call}))"
        )
        if os.environ.get("BENCH_PROFILE") == step.name:  # the whole process, imports too
            code = (
                "import cProfile, pstats, sys\nprofiler = cProfile.Profile()\n"
                f"profiler.runctx({code!r}, {{}}, {{}})\n"
                "pstats.Stats(profiler, stream=sys.stderr).sort_stats('cumulative')"
                ".print_stats(40)"
            )
        step_started = time.perf_counter()
        cpu_before = _children_cpu()
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        step_cpu = _children_cpu() - cpu_before
        if done.returncode != 0:
            raise SystemExit(f"step {step.name} failed:\n{done.stderr[-3000:]}")
        if os.environ.get("BENCH_PROFILE") == step.name:
            sys.stderr.write(done.stderr)
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        summaries[step.name] = summary
        figures.add(f"{label}_{step.name}", time.perf_counter() - step_started, "s")
        # CPU of the step's process (user + sys): comparable on a shared machine, wall is not.
        figures.add(f"{label}_{step.name}_cpu", step_cpu, "s")
        figures.add(f"{label}_{step.name}_peak_rss", steps_peak.mib(), "MiB")
    total = time.perf_counter() - started
    store.close()
    figures.add(f"{label}_run", total, "s")
    figures.add(f"{label}_records", sum(summaries["extract"]["records"].values()), "records")
    return figures.items


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished (waited-for) children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _prepare_run(optouts: Path | None, input_dir: Path) -> tuple[Any, Any, Any, RunRequest]:
    settings = load_settings()
    config = load_catalogue(settings.catalogue_dir).get(BENCH_REGISTRATION)
    ensure_demo_keys(settings, [config.id])
    store = open_event_store(settings.event_store_url)
    entries = patients = 0
    if optouts is not None:
        hasher = mrn_hasher(PatientRefHasher.from_settings(settings, store))
        outcome = record_optouts(store, read_optout_csv(optouts, hasher).entries)
        entries, patients = outcome.read, outcome.patients
    # A run needs a current register (decision 0475); without opt-outs the bench's is empty.
    record_ingest(
        store, taken_at=datetime.now(UTC), source="ehr-csv", entries=entries, patients=patients
    )
    request = RunRequest(
        registration_id=config.id,
        input_path=input_dir,
        period=Period.parse(PERIOD),
        today=TODAY,
        outbox=settings.home / "outbox",
        run_id=uuid.uuid4().hex[:12],
    )
    return settings, config, store, request


def _record_run(
    figures: Figures,
    label: str,
    *,
    total: float,
    values: dict[str, Any],
    store: Any,
    registration: str,
) -> None:
    seconds = {f["name"]: float(f["value"]) for f in figures.items}
    _summary(
        figures,
        label=label,
        total=total,
        rows=sum(values["extracted"].values()),
        excluded=int(values["excluded_optouts"]),
        patients=int(values["patients"]),
        pseudonymise_seconds=seconds[f"{label}_pseudonymise"],
    )
    figures.add(f"{label}_ttp_batches", len(_batch_ids(store, registration)), "requests")


def _summary(
    figures: Figures,
    *,
    label: str,
    total: float,
    rows: int,
    excluded: int,
    patients: int,
    pseudonymise_seconds: float,
) -> None:
    figures.add(f"{label}_run", total, "s")
    figures.add(f"{label}_peak_rss", _rss_mib(), "MiB")
    figures.add(f"{label}_records", rows, "records")
    figures.add(f"{label}_excluded_optout", excluded, "records")
    figures.add(f"{label}_patients", patients, "patients")
    figures.add(f"{label}_pseudonymise_rate", patients / pseudonymise_seconds, "patients/s")


def _batch_ids(store: Any, registration: str) -> tuple[str, ...]:
    from aanlevering.pseudonym.service import pseudonym_stream

    events = [r.to_event() for r in store.read_stream(pseudonym_stream(registration, PERIOD))]
    return tuple(b for e in events for b in getattr(e, "batch_ids", ()))


# -- orchestration ------------------------------------------------------------------------


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--csv-patients", default="200000,1000000", help="comma separated; 0: no CSV run"
    )
    parser.add_argument(
        "--fhir-patients", default="200000,1000000", help="comma separated; 0: no FHIR run"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--results",
        type=Path,
        help="also write the figures here (make bench collects every script's into "
        "bench/results.json itself)",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"only the {QUICK_PATIENTS:,}-patient runs"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--steps",
        default="csv",
        choices=("csv", "all", "none", "smallest-csv"),
        help="also run these deliveries as Airflow does, each stage in its own process "
        "(smallest-csv: only the smallest CSV size)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--steps-worker", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--optouts", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.quick:
        _quick(args)

    if args.worker or args.steps_worker:
        work_function = worker if args.worker else steps_worker
        items = work_function(args.worker or args.steps_worker, args.input, args.optouts)
        print(json.dumps(items))
        return 0

    figures = Figures()
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    ttp: TTPProcess | None = None
    try:
        catalogue = write_catalogue(work / "catalogue")
        runs = _exports(args, figures, work, catalogue)
        ttp = start_ttp(work, catalogue)
        for label, input_dir, optouts in runs:
            env = worker_env(work / f"home-{label}", catalogue, ttp)
            figures.items.extend(run_worker(label, input_dir, optouts, env))
            figures.add(f"ttp_peak_rss_after_{label}", _ttp_rss(ttp), "MiB")
            if _steps_for(args, label):
                _steps_run(
                    figures, label, (input_dir, optouts), work=work, catalogue=catalogue, ttp=ttp
                )
            if not args.keep:  # a 1M delivery is GiBs: free the disk for the next run
                for home in (f"home-{label}", f"home-{label}_steps"):
                    shutil.rmtree(work / home, ignore_errors=True)
        _growth(figures)
    finally:
        if ttp is not None:
            ttp.stop()
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.results is not None:
        write_results(args.results, figures)
    return 0


def _exports(
    args: argparse.Namespace, figures: Figures, work: Path, catalogue: Path
) -> list[tuple[str, Path, Path | None]]:
    """Generate every export the runs read: (label, input folder, opt-outs file or None)."""
    runs: list[tuple[str, Path, Path | None]] = []
    for patients in _sizes(args.csv_patients):
        out = work / f"demo-csv-{patients}"
        seconds = generate(catalogue, out, patients, "csv", args.seed)
        figures.add(f"csv_{_short(patients)}_generate", seconds, "s")
        runs.append((f"csv_{_short(patients)}", out / "csv-utf8", out / "optouts.csv"))
    for patients in _sizes(args.fhir_patients):
        out = work / f"demo-fhir-{patients}"
        seconds = generate(catalogue, out, patients, "fhir-bulk", args.seed)
        figures.add(f"fhir_{_short(patients)}_generate", seconds, "s")
        runs.append((f"fhir_{_short(patients)}", out / "fhir-bulk" / BASE_REGISTRATION, None))
    return runs


def write_results(path: Path, figures: Figures) -> None:
    """The figures and the machine as JSON (``--results``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                },
                "figures": figures.items,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"results: {path}", file=sys.stderr)


def _quick(args: argparse.Namespace) -> None:
    """``--quick``: keep only the runs of :data:`QUICK_PATIENTS` (``make bench QUICK=1``)."""
    args.csv_patients = str(QUICK_PATIENTS)
    if _sizes(args.fhir_patients):
        args.fhir_patients = str(QUICK_PATIENTS)


def _steps_run(
    figures: Figures,
    label: str,
    inputs: tuple[Path, Path | None],
    *,
    work: Path,
    catalogue: Path,
    ttp: TTPProcess,
) -> None:
    """The same delivery as Airflow runs it, and its cost over the in-process run."""
    steps_label = f"{label}_steps"
    env = worker_env(work / f"home-{steps_label}", catalogue, ttp)
    steps = run_worker(steps_label, inputs[0], inputs[1], env, steps=True)
    figures.items.extend(steps)
    in_process = next(f["value"] for f in figures.items if f["name"] == f"{label}_run")
    steps_run = next(f["value"] for f in steps if f["name"] == f"{steps_label}_run")
    figures.add(f"{steps_label}_over_in_process", steps_run / in_process, "x")


def _steps_for(args: argparse.Namespace, label: str) -> bool:
    """Whether ``--steps`` runs the in-process delivery ``label`` again as Airflow does."""
    if args.steps == "all":
        return True
    if args.steps == "smallest-csv":
        return label == f"csv_{_short(min(_sizes(args.csv_patients)))}"
    return args.steps == "csv" and label.startswith("csv_")


def _sizes(text: str) -> list[int]:
    """``--csv-patients`` / ``--fhir-patients``: comma-separated sizes, 0 or empty for none."""
    return [int(part) for part in str(text).split(",") if part.strip() and int(part) > 0]


def _short(patients: int) -> str:
    if patients % 1_000_000 == 0:
        return f"{patients // 1_000_000}m"
    if patients % 1000 == 0:
        return f"{patients // 1000}k"
    return str(patients)


def _ttp_rss(ttp: TTPProcess) -> float:
    process = psutil.Process(ttp.process.pid)
    return float(process.memory_info().rss) / 2**20


def _growth(figures: Figures) -> None:
    """Cost ratio of the largest to the smallest in-process run per format, per patient ratio.

    Only the in-process runs (``csv_200k_run``, ``csv_1m_run``) are compared: the task-path
    runs (``csv_1m_steps_run``) have their own ratio, ``<label>_steps_over_in_process``.
    """
    for source in ("csv", "fhir"):
        runs = {
            f["name"].removesuffix("_run"): float(f["value"])
            for f in figures.items
            if _is_in_process_run(f["name"], source)
        }
        sizes = sorted((_patients(label), label) for label in runs)
        if len(sizes) >= 2:
            (small, small_label), (large, large_label) = sizes[0], sizes[-1]
            ratio = runs[large_label] / runs[small_label]
            figures.add(f"growth_{large_label}_over_{small_label}", ratio, "x")
            suffix = "" if source == "csv" else f"_{source}"
            figures.add(f"growth_per_patient_ratio{suffix}", ratio / (large / small), "x")


def _is_in_process_run(name: str, source: str) -> bool:
    """``csv_1m_run`` yes; ``csv_1m_steps_run`` and ``fhir_1m_run`` (for csv) no."""
    parts = name.split("_")
    return len(parts) == 3 and parts[0] == source and parts[2] == "run"


def _patients(label: str) -> int:
    text = label.split("_")[1]
    if text.endswith("m"):
        return int(text[:-1]) * 1_000_000
    if text.endswith("k"):
        return int(text[:-1]) * 1000
    return int(text)


if __name__ == "__main__":
    sys.exit(main())
