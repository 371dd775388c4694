"""The FHIR part of a demo run, one chunk of patients at a time: in this process or in workers.

Why a module of its own: building and serialising the resources is most of
a FHIR demo run's time (decision 0988), and it is the only part that may run
in other processes. The numpy part of a chunk (people, records, bad rows)
stays in the main process, in chunk order, because each chunk's record keys
follow from the counts of the chunks before it. A chunk's FHIR part depends
only on that chunk, so a worker process can do it: it writes the chunk's
Bundle files itself (each Bundle's file name and type follow from its
number alone) and returns the chunk's bulk NDJSON lines per type, which the
main process appends in chunk order. The files are therefore byte-identical
to a serial run's. At most ``workers`` chunks are in flight, so memory stays
bounded by a few chunks' NDJSON.

The workers are fresh interpreters started as the product's own workers are
(:mod:`aanlevering.worker_processes`, decision 1010): never a fork, since the
calling process may have threads, and not :mod:`multiprocessing`'s spawn,
which runs the caller's main script again in each worker. A worker reads
pickled messages on its stdin (first the registration's plan, from which it
builds its own resource builders: theirs hold compiled paths that cannot be
pickled; then one chunk at a time) and answers each chunk on its stdout. It
dies with the process that started it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from aanlevering import worker_processes
from aanlevering.demo import fhirbuild, fhirout
from aanlevering.demo.clinical.base import DatasetChunk
from aanlevering.demo.people import People
from aanlevering.demo.records import RegistrationPlan
from aanlevering.errors import AanleveringError


def serialised_groups(
    builders: Mapping[str, fhirbuild.DatasetBuilder],
    chunks: Mapping[str, DatasetChunk],
    people: People,
) -> Iterator[list[fhirout.Serialised]]:
    """The serialised resources of each group of ``PATIENTS_PER_BUNDLE`` patients, in order."""
    n = len(people)
    prepared = []
    for name, builder in builders.items():
        chunk = chunks[name]
        values = fhirbuild.record_values(chunk)
        key_variable = builder.id_variable
        anchors = np.datetime_as_string(chunk.anchor.astype("datetime64[D]")).tolist()
        bounds = np.searchsorted(chunk.patient, np.arange(n + 1)).tolist()
        prepared.append((builder, values, values[key_variable], anchors, bounds))
    for group_start in range(0, n, fhirout.PATIENTS_PER_BUNDLE):
        items: list[fhirout.Serialised] = []
        for p in range(group_start, min(group_start + fhirout.PATIENTS_PER_BUNDLE, n)):
            patient = fhirbuild.patient_resource(people, p)
            resources: list[tuple[dict[str, Any], bool]] = []
            for builder, values, keys, anchors, bounds in prepared:
                for r in range(bounds[p], bounds[p + 1]):
                    built = builder.build(keys[r], values, r, anchors[r], patient)
                    resources.extend((res, i == 0) for i, res in enumerate(built))
            items.append(
                fhirout.Serialised("Patient", patient["id"], fhirout.dumps(patient), False)
            )
            items.extend(
                fhirout.Serialised(res["resourceType"], res["id"], fhirout.dumps(res), focus)
                for res, focus in resources
            )
        yield items


def write_chunk(
    builders: Mapping[str, fhirbuild.DatasetBuilder],
    chunks: Mapping[str, DatasetChunk],
    people: People,
    bulk: fhirout.BulkWriter | None,
    bundles: fhirout.BundleWriter | None,
) -> None:
    """The serial path: serialise a chunk and write it group by group (no chunk held whole)."""
    for items in serialised_groups(builders, chunks, people):
        if bulk is not None:
            bulk.write(items)
        if bundles is not None:
            bundles.write(items)


class SerialWriter:
    """The FHIR part of each chunk in this process, written as it is made (no pool)."""

    def __init__(
        self,
        builders: Mapping[str, fhirbuild.DatasetBuilder],
        bulk: fhirout.BulkWriter | None,
        bundles: fhirout.BundleWriter | None,
    ) -> None:
        self.builders = builders
        self.bulk = bulk
        self.bundles = bundles

    def submit(self, chunks: Mapping[str, DatasetChunk], people: People) -> None:
        """Serialise and write one chunk now (nothing without builders: no FHIR asked)."""
        if self.builders:
            write_chunk(self.builders, chunks, people, self.bulk, self.bundles)

    def finish(self) -> None:
        """Nothing is pending in a serial run."""

    def close(self) -> None:
        """Nothing to stop in a serial run."""


def chunk_writer(
    plan: RegistrationPlan,
    builders: Mapping[str, fhirbuild.DatasetBuilder],
    bulk: fhirout.BulkWriter | None,
    bundles: fhirout.BundleWriter | None,
    *,
    chunks: int,
    workers: int,
) -> SerialWriter | ParallelWriter:
    """Worker processes only where they pay: FHIR asked, more than one chunk, ``workers`` > 1.

    Small runs (the tests, ``make run``) stay serial and pay no pool start-up.
    """
    if builders and chunks > 1 and workers > 1:
        return ParallelWriter(plan, builders, bulk, bundles, workers)
    return SerialWriter(builders, bulk, bundles)


@dataclass(frozen=True)
class _WorkerState:
    """What every chunk of a registration shares: the first message to each worker."""

    plan: RegistrationPlan
    bulk: bool
    bundle_folder: Path | None
    registration: str
    search_type: str


class _ChunkResult(NamedTuple):
    bulk: dict[str, tuple[bytes, int]]
    bundles: int


#: How long an idle worker may take to end once its input is closed.
_GRACE_SECONDS = 30.0
#: What a worker runs; its argument is the pid of the process that started it.
_WORKER_CODE = "import sys; from aanlevering.demo.fhirchunks import serve; serve(int(sys.argv[1]))"


def serve(parent: int) -> None:
    """In a worker: answer each chunk on stdin with its result (or its error) on stdout.

    Anything the work prints goes to stderr, so stdout carries only answers.
    Ends at the end of stdin (the main process closed it: no more chunks).
    """
    worker_processes.die_with_parent(parent)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    chunks = sys.stdin.buffer
    state: _WorkerState = pickle.load(chunks)  # noqa: S301 - written by our own parent
    builders = fhirbuild.builders(state.plan)
    while True:
        try:
            message = pickle.load(chunks)  # noqa: S301 - written by our own parent
        except EOFError:
            return
        try:
            answer: tuple[bool, object] = (True, _work(state, builders, *message))
        except Exception as error:  # handed to the main process, raised there
            answer = (False, _picklable(error))
        pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()


def _picklable(error: Exception) -> Exception:
    """The worker's exception, or one naming its class when it cannot be pickled."""
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    except Exception:  # any failure to pickle
        return AanleveringError(
            f"demo-data: a worker process serialising FHIR resources failed: {type(error).__name__}"
        )
    return error


def _work(
    state: _WorkerState,
    builders: Mapping[str, fhirbuild.DatasetBuilder],
    chunks: dict[str, DatasetChunk],
    people: People,
    first_bundle: int,
) -> _ChunkResult:
    """In a worker: serialise one chunk, write its Bundles, return its NDJSON lines."""
    parts: dict[str, list[bytes]] = {}
    counts: dict[str, int] = {}
    index = first_bundle
    for items in serialised_groups(builders, chunks, people):
        if state.bulk:
            for resource_type, (data, count) in fhirout.ndjson_lines(items).items():
                parts.setdefault(resource_type, []).append(data)
                counts[resource_type] = counts.get(resource_type, 0) + count
        if state.bundle_folder is not None:
            fhirout.write_bundle(
                state.bundle_folder, state.registration, state.search_type, index, items
            )
        index += 1
    return _ChunkResult(
        {t: (b"".join(parts[t]), counts[t]) for t in sorted(parts)}, index - first_bundle
    )


class ParallelWriter:
    """Hands each chunk's FHIR part to a worker process; appends the results in chunk order.

    Chunks go to the workers in turn, so chunk *k*'s answer is the next one on
    worker *k mod n*'s stdout, and a worker is given a chunk only after its
    previous answer was taken: at most one chunk per worker in flight.
    :meth:`close` (also on an error) stops the workers and waits for them, so
    none writes into the output folder after the caller has removed it. A
    worker's exception is raised again here, unchanged, when its chunk's turn
    comes; a worker that ended without an answer gives an error naming the
    chunk (not a pickle or pipe error).
    """

    def __init__(
        self,
        plan: RegistrationPlan,
        builders: Mapping[str, fhirbuild.DatasetBuilder],
        bulk: fhirout.BulkWriter | None,
        bundles: fhirout.BundleWriter | None,
        workers: int,
    ) -> None:
        self.builders = builders
        self.bulk = bulk
        self.bundles = bundles
        self._next_bundle = bundles.written if bundles is not None else 0
        self._pending: deque[tuple[int, subprocess.Popen[bytes]]] = deque()
        self._submitted = 0
        self._state = _WorkerState(
            plan=plan,
            bulk=bulk is not None,
            bundle_folder=bundles.folder if bundles is not None else None,
            registration=bundles.registration if bundles is not None else "",
            search_type=bundles.search_type if bundles is not None else "",
        )
        self._workers: list[subprocess.Popen[bytes]] = []
        try:
            for _ in range(workers):
                self._workers.append(self._start())
        except BaseException:
            self.close()
            raise

    def _start(self) -> subprocess.Popen[bytes]:
        try:
            process = worker_processes.start_piped_worker(_WORKER_CODE, str(os.getpid()))
        except OSError as error:
            raise AanleveringError(
                f"demo-data could not start a worker process for its FHIR resources: "
                f"{error.strerror or type(error).__name__}; generate with one worker"
            ) from None
        _send(process, self._state, chunk=0)
        return process

    def close(self) -> None:
        """Stop the workers: at the end of their input when idle, killed when still working."""
        busy = {id(process) for _, process in self._pending}
        self._pending.clear()
        for process in self._workers:
            if id(process) in busy:
                process.kill()
            _close(process.stdin)
        for process in self._workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=_GRACE_SECONDS)
            worker_processes.stop_worker(process)
            _close(process.stdout)
        self._workers.clear()

    def submit(self, chunks: Mapping[str, DatasetChunk], people: People) -> None:
        """Hand one chunk to the next worker in turn, first taking that worker's last answer."""
        while len(self._pending) >= len(self._workers):
            self._take()
        first = self._next_bundle
        self._next_bundle += -(-len(people) // fhirout.PATIENTS_PER_BUNDLE)
        needed = {name: chunks[name] for name in self.builders}
        self._submitted += 1
        process = self._workers[(self._submitted - 1) % len(self._workers)]
        _send(process, (needed, people, first), chunk=self._submitted)
        self._pending.append((self._submitted, process))

    def finish(self) -> None:
        """Write every remaining result, in chunk order."""
        while self._pending:
            self._take()

    def _take(self) -> None:
        chunk, process = self._pending[0]
        assert process.stdout is not None
        try:
            ok, answer = pickle.load(process.stdout)  # noqa: S301 - our own worker's answer
        except (EOFError, OSError, pickle.UnpicklingError):
            raise _killed(chunk) from None
        self._pending.popleft()
        if not ok:
            assert isinstance(answer, BaseException)
            raise answer
        assert isinstance(answer, _ChunkResult)
        if self.bulk is not None:
            for resource_type, (data, count) in answer.bulk.items():
                self.bulk.append(resource_type, data, count)
        if self.bundles is not None:
            self.bundles.skip(answer.bundles)


def _send(process: subprocess.Popen[bytes], message: object, *, chunk: int) -> None:
    """Write one message to a worker; a worker gone meanwhile names the chunk."""
    assert process.stdin is not None
    try:
        pickle.dump(message, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        process.stdin.flush()
    except (BrokenPipeError, ValueError):
        raise _killed(chunk) from None


def _close(stream: IO[bytes] | None) -> None:
    if stream is not None:
        with contextlib.suppress(OSError):  # a worker gone: its pipe takes no last bytes
            stream.close()


def _killed(chunk: int) -> AanleveringError:
    """A worker ended without an answer: killed (the kernel's out-of-memory killer, a signal).

    Says what stopped and what to do, where Python would give a pipe or pickle error.
    """
    what = f"at chunk {chunk}" if chunk else "as it started"
    return AanleveringError(
        f"demo-data stopped {what} of this registration: a worker process "
        "serialising its FHIR resources ended without an answer (killed, for example "
        "when memory ran out); nothing was written to --out. Free memory or generate "
        "fewer patients at a time"
    )
