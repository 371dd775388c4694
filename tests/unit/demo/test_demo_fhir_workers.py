"""The FHIR part of a multi-chunk demo run in worker processes: the same bytes as serial.

Decision 0988: chunks' resources are built and serialised in up to two
worker processes; the main process appends the bulk lines in chunk order.
Decision 1010: the workers are fresh interpreters (``python -c``, never a fork
nor multiprocessing's spawn, which reruns the caller's main script), so
nothing patched here reaches them: the tests reach a worker through what it
is given (its output folder) or from outside (a signal).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import Catalogue
from aanlevering.demo import DemoOptions, fhirchunks, fhirout, generate_demo_data
from aanlevering.errors import AanleveringError

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"
#: What a demo worker's command line holds.
WORKER_MARK = b"aanlevering.demo.fhirchunks import serve"


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def run(catalogue: Catalogue, out: Path, formats: set[str], workers: int, patients: int) -> Path:
    generate_demo_data(
        catalogue,
        DemoOptions(
            out_dir=out,
            patients=patients,
            seed=7,
            formats=frozenset(formats),
            chunk_size=100,
            workers=workers,
        ),
    )
    return out


@pytest.fixture
def pids(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Record each serialisation done in this process (a worker runs the unpatched code)."""
    record = tmp_path / "pids.txt"
    original = fhirchunks.serialised_groups

    def recorded(*args: Any) -> Iterator[Any]:
        with record.open("a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        yield from original(*args)

    monkeypatch.setattr(fhirchunks, "serialised_groups", recorded)
    return record


def processes(record: Path) -> set[int]:
    if not record.exists():
        return set()
    found = {int(line) for line in record.read_text(encoding="utf-8").split()}
    record.unlink()
    return found


@pytest.mark.parametrize("formats", [{"fhir"}, {"fhir-bulk"}, {"csv", "fhir"}])
def test_three_chunks_in_workers_write_the_serial_bytes(
    catalogue: Catalogue, tmp_path: Path, pids: Path, formats: set[str]
) -> None:
    serial = digest(run(catalogue, tmp_path / "serial", formats, workers=1, patients=300))
    assert processes(pids) == {os.getpid()}
    parallel = digest(run(catalogue, tmp_path / "parallel", formats, workers=2, patients=300))
    assert processes(pids) == set()  # every chunk was serialised by a worker
    assert len(serial) > 10
    assert parallel == serial


def test_a_single_chunk_stays_in_this_process(
    catalogue: Catalogue, tmp_path: Path, pids: Path
) -> None:
    run(catalogue, tmp_path / "one", {"fhir"}, workers=2, patients=100)
    assert processes(pids) == {os.getpid()}


def demo_workers() -> list[int]:
    """This process's demo workers: its children running ``fhirchunks.serve``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text(encoding="ascii").rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
        if parent == os.getpid() and WORKER_MARK in command:
            found.append(int(stat.parent.name))
    return found


def run_doing(catalogue: Catalogue, out: Path, after_first_chunk: Callable[[], None]) -> None:
    """A three-chunk FHIR run that calls ``after_first_chunk`` once chunk 1 is handed over."""
    done: list[bool] = []

    def progress(line: str) -> None:
        if " 100 of 300 patients" in line and not done:
            done.append(True)
            after_first_chunk()

    generate_demo_data(
        catalogue,
        DemoOptions(
            out_dir=out,
            patients=300,
            seed=7,
            formats=frozenset({"fhir"}),
            chunk_size=100,
            workers=2,
        ),
        progress,
    )


def test_an_error_in_a_worker_is_raised_and_leaves_no_folder(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    """A worker that cannot write its Bundles: its error stops the run, unchanged."""
    out = tmp_path / "out"

    def bundle_folder_replaced_by_a_file() -> None:
        (partial,) = tmp_path.glob(".out.partial-*")
        for folder in (partial / fhirout.BUNDLE_DIR).iterdir():
            shutil.rmtree(folder)
            folder.write_text("not a folder\n", encoding="utf-8")

    with pytest.raises(OSError) as raised:
        run_doing(catalogue, out, bundle_folder_replaced_by_a_file)
    assert not isinstance(raised.value, AanleveringError)
    assert fhirout.BUNDLE_DIR in str(raised.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert demo_workers() == []


def test_a_killed_worker_stops_the_run_naming_the_chunk_and_leaves_no_folder(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    """A worker the kernel kills (out of memory) gives no exception of its own."""

    def workers_killed() -> None:
        workers = demo_workers()
        assert workers, "chunk 1 was handed to no worker process"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)

    with pytest.raises(AanleveringError, match=r"chunk [123] .*ended without an answer \(killed"):
        run_doing(catalogue, tmp_path / "out", workers_killed)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert demo_workers() == []


def script_signalling_itself(tmp_path: Path, signalled: str) -> Path:
    """A plain script running a three-chunk FHIR run that, once chunk 1 is handed over,
    prints its workers' pids and runs ``signalled`` (a line of Python)."""
    script = tmp_path / "signalled.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, signal
            from pathlib import Path
            from aanlevering.catalogue import load_catalogue
            from aanlevering.demo import DemoOptions, generate_demo_data

            def progress(line):
                if " 100 of 300 patients" in line:
                    for stat in Path("/proc").glob("[0-9]*/stat"):
                        try:
                            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                            command = (stat.parent / "cmdline").read_bytes()
                        except (OSError, ValueError, IndexError):
                            continue
                        if parent == os.getpid() and {WORKER_MARK!r} in command:
                            print(stat.parent.name, flush=True)
                    {signalled}

            generate_demo_data(
                load_catalogue({str(CATALOGUE)!r}),
                DemoOptions(out_dir=Path({str(tmp_path / "out")!r}), patients=300, seed=7,
                            formats=frozenset({{"fhir"}}), chunk_size=100, workers=2),
                progress,
            )
            """
        ),
        encoding="utf-8",
    )
    return script


def test_a_worker_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """Killed without a chance to stop its pool, the main process leaves no worker behind."""
    script = script_signalling_itself(tmp_path, "os.kill(os.getpid(), signal.SIGKILL)")
    ended = subprocess.run(
        [sys.executable, str(script)], capture_output=True, timeout=120, check=False
    )
    assert ended.returncode == -signal.SIGKILL, ended.stderr.decode(errors="replace")[-2000:]
    workers = [int(pid) for pid in ended.stdout.split()]
    assert workers, "chunk 1 was handed to no worker process"
    deadline = time.monotonic() + 10
    while running(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running(workers) == []


def running(pids: list[int]) -> list[int]:
    """Those of ``pids`` that still run a demo worker (not ended, not a zombie)."""
    alive = []
    for pid in pids:
        try:
            state = (
                Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0]
            )
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if state != "Z" and WORKER_MARK in command:
            alive.append(pid)
    return alive


def test_a_script_without_a_main_guard_can_use_workers(tmp_path: Path) -> None:
    """multiprocessing's spawn would run this script again in each worker and fail."""
    script = tmp_path / "plain.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            from aanlevering.catalogue import load_catalogue
            from aanlevering.demo import DemoOptions, generate_demo_data

            generate_demo_data(
                load_catalogue({str(CATALOGUE)!r}),
                DemoOptions(out_dir=Path({str(tmp_path / "out")!r}), patients=300, seed=7,
                            formats=frozenset({{"fhir-bulk"}}), chunk_size=100, workers=2),
            )
            """
        ),
        encoding="utf-8",
    )
    ended = subprocess.run(
        [sys.executable, str(script)], capture_output=True, timeout=120, check=False
    )
    assert ended.returncode == 0, ended.stderr.decode(errors="replace")[-2000:]
    assert b"Traceback" not in ended.stderr
    patients = (tmp_path / "out" / fhirout.BULK_DIR).rglob("Patient*.ndjson")
    assert sum(len(path.read_bytes().splitlines()) for path in patients) == 3 * 300


def test_ctrl_c_stops_the_run_with_one_traceback_and_no_worker_left(tmp_path: Path) -> None:
    """Ctrl-C signals the whole process group: the workers leave the stopping to the run."""
    script = script_signalling_itself(tmp_path, "os.killpg(os.getpgrp(), signal.SIGINT)")
    ended = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        timeout=120,
        check=False,
        start_new_session=True,
    )
    errors = ended.stderr.decode(errors="replace")
    assert ended.returncode != 0
    assert errors.count("KeyboardInterrupt") == 1, errors[-3000:]
    workers = [int(pid) for pid in ended.stdout.split()]
    assert workers
    deadline = time.monotonic() + 10
    while running(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running(workers) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signalled.py"]
