"""Worker processes of our own: fresh interpreters that take half a stage's work.

Why one module: the FHIR extract (decision 0317) and the FHIR output (0318)
each hand part of their work to a second process. How such a worker is
started (``python -c``, never a fork: the calling process may have threads),
bounded in time, stopped, tied to its parent's life, and reported on when it
dies must be the same for both, and what it died of must never quote input.

A worker gets a private folder; it writes its answer there as
:data:`ANSWER` (pickled, renamed into place when complete) and its stderr
goes to :data:`ERRORS` in the same folder.
"""

from __future__ import annotations

import ctypes
import logging
import os
import pickle
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import ipc

import aanlevering

log = logging.getLogger(__name__)

#: The worker's answer in its folder, and where its stderr goes.
ANSWER = "result.pickle"
ERRORS = "stderr.txt"
#: Python's prctl option that signals a child when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1
#: The last line of a Python traceback: the exception's (dotted) class name, then its message.
_EXCEPTION_LINE = re.compile(r"([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning))\b")


#: At most this many worker processes by default: the reference machine has two cores.
DEFAULT_WORKERS = 2


def default_workers() -> int:
    """How many processes a stage that can split its work uses by default: 2, or 1 on one core.

    Why one answer for every stage: the cores counted are those this process
    may run on (a CPU-affinity limit such as ``taskset`` or a container's
    cpuset counts), since a second process on the same core only competes
    with the first and doubles the memory.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(DEFAULT_WORKERS, cores))


def worker_environment() -> dict[str, str]:
    """This environment, with this copy of ``aanlevering`` first on the child's path.

    Why: a worker must run the same code as its parent (a checkout, a wheel, a
    test's source tree), whatever the environment's own path says.
    """
    package_root = str(Path(aanlevering.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}


def start_worker(
    code: str, folder: Path, stdin: int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """Start ``python -c code folder`` with this checkout's package importable.

    Raises ``OSError`` when no process can be started (the caller says which
    stage could not start its worker).
    """
    with (folder / ERRORS).open("wb") as errors:
        return subprocess.Popen(
            [sys.executable, "-c", code, str(folder)],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=worker_environment(),
            close_fds=True,
        )


def start_piped_worker(code: str, *args: str) -> subprocess.Popen[bytes]:
    """Start ``python -c code args`` that takes messages on stdin and answers on stdout.

    Why: a worker that does many pieces of work in turn (the demo generator's
    FHIR chunks, decision 1010) is started once and fed, not started per piece.
    Its stderr is the caller's, so what it prints shows where the caller's does.
    It runs in a process group of its own: Ctrl-C on a terminal signals the
    caller's group, and the caller stops its workers itself (a worker
    interrupted while Python starts would print a traceback of its own).
    Raises ``OSError`` when no process can be started.
    """
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=worker_environment(),
        close_fds=True,
        process_group=0,
    )


def wait_for_answer(
    process: subprocess.Popen[bytes],
    folder: Path,
    *,
    bound: float,
    doing: str,
    error: Callable[[str], Exception],
    hint: str,
) -> Any:
    """The worker's answer once it has ended; ``error(message)`` when it gave none in time.

    ``doing`` says what the worker did (``reading part 2 of 2 of the FHIR
    input``); ``hint`` how to see a crash in full (the setting that keeps the
    work in one process).
    """
    try:
        code = process.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        stop_worker(process)
        raise error(
            f"{doing} took more than {bound:.0f} s in its worker process; stopped"
        ) from None
    answer = folder / ANSWER
    if code != 0 or not answer.is_file():
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        raise error(
            f"{doing} failed: its worker process {how} without an answer"
            f"{last_line(folder / ERRORS, hint)}"
        )
    with answer.open("rb") as handle:
        return pickle.load(handle)  # noqa: S301 - written by our own worker


def write_answer(folder: Path, answer: object) -> None:
    """In the worker: leave ``answer`` for the parent, complete or not at all."""
    partial = folder / (ANSWER + ".partial")
    with partial.open("wb") as handle:
        pickle.dump(answer, handle)
    partial.rename(folder / ANSWER)


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    """Kill the worker if it still runs, and wait for it (never leaves a stray process)."""
    if process.poll() is None:
        process.kill()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover - a kill is not refused
        log.warning("worker process %d did not end after SIGKILL", process.pid)


def die_with_parent(parent: int) -> None:
    """In the worker: have the kernel kill it when its parent dies (Linux), or stop now."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent:
        os._exit(1)  # the parent is gone already


def last_line(errors: Path, hint: str) -> str:
    """What a worker died of, when it died before answering (an import error, say).

    Only the exception's class name: its message may quote input (a value Arrow
    could not convert), and this text goes into the error the run records. The
    whole traceback shows when the same work runs in one process (``hint``).
    """
    try:
        lines = errors.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    found = _EXCEPTION_LINE.match(lines[-1]) if lines else None
    if found is None:
        return ""
    return f": {found.group(1)} ({hint})"


def write_table(path: Path, table: pa.Table) -> None:
    """Hand a table to the other process: an uncompressed Arrow IPC file (mapped, not decoded)."""
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def mapped_table(path: Path) -> pa.Table:
    """A table the other process wrote, memory-mapped (the file may be removed while in use)."""
    return ipc.open_file(pa.memory_map(str(path), "r")).read_all()


def table_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """The batches of a table the other process wrote, read one at a time (not mapped).

    Why: a million-patient delivery's keys are held a batch at a time, never whole.
    """
    with pa.OSFile(str(path), "rb") as source:
        reader = ipc.open_file(source)
        for index in range(reader.num_record_batches):
            yield reader.get_batch(index)


def own_peak_mib() -> float:
    """In the worker: its peak resident memory since its exec (``ru_maxrss`` keeps the fork's)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0
