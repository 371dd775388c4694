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
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from aanlevering.demo import fhirbuild, fhirout
from aanlevering.demo.clinical.base import DatasetChunk
from aanlevering.demo.people import People
from aanlevering.errors import AanleveringError

#: At most this many worker processes by default (and so chunks in flight).
DEFAULT_WORKERS = 2


def default_workers() -> int:
    """Worker processes for a multi-chunk FHIR run: the cores this process may use, at most 2."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(DEFAULT_WORKERS, cores))


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
        return ParallelWriter(builders, bulk, bundles, workers)
    return SerialWriter(builders, bulk, bundles)


@dataclass(frozen=True)
class _WorkerState:
    """What every chunk of a registration shares; a forked worker inherits it."""

    builders: Mapping[str, fhirbuild.DatasetBuilder]
    bulk: bool
    bundle_folder: Path | None
    registration: str
    search_type: str


class _ChunkResult(NamedTuple):
    bulk: dict[str, tuple[bytes, int]]
    bundles: int


#: The worker's state, set once when the worker starts.
_STATE: dict[str, _WorkerState] = {}


def _init_worker(state: _WorkerState) -> None:
    _STATE["state"] = state


def _work(chunks: dict[str, DatasetChunk], people: People, first_bundle: int) -> _ChunkResult:
    """In a worker: serialise one chunk, write its Bundles, return its NDJSON lines."""
    state = _STATE["state"]
    parts: dict[str, list[bytes]] = {}
    counts: dict[str, int] = {}
    index = first_bundle
    for items in serialised_groups(state.builders, chunks, people):
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

    :meth:`close` (also on an error) cancels what has not started and waits
    for the running workers, so none writes into the output folder after the
    caller has removed it. A worker's exception is raised again here,
    unchanged, when its chunk's turn comes; a worker killed without one gives
    an error naming the chunk (not Python's "terminated abruptly").
    """

    def __init__(
        self,
        builders: Mapping[str, fhirbuild.DatasetBuilder],
        bulk: fhirout.BulkWriter | None,
        bundles: fhirout.BundleWriter | None,
        workers: int,
    ) -> None:
        self.builders = builders
        self.bulk = bulk
        self.bundles = bundles
        self.workers = workers
        self._next_bundle = bundles.written if bundles is not None else 0
        self._pending: deque[tuple[int, Future[_ChunkResult]]] = deque()
        self._submitted = 0
        state = _WorkerState(
            builders=builders,
            bulk=bulk is not None,
            bundle_folder=bundles.folder if bundles is not None else None,
            registration=bundles.registration if bundles is not None else "",
            search_type=bundles.search_type if bundles is not None else "",
        )
        # fork: the workers inherit the builders (no pickling of the mapping
        # machinery) and start in milliseconds.
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker,
            initargs=(state,),
        )

    def close(self) -> None:
        """Stop the workers: cancel what has not started, wait for what runs."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, chunks: Mapping[str, DatasetChunk], people: People) -> None:
        """Queue one chunk, first writing the oldest result if ``workers`` are in flight."""
        while len(self._pending) >= self.workers:
            self._take()
        first = self._next_bundle
        self._next_bundle += -(-len(people) // fhirout.PATIENTS_PER_BUNDLE)
        needed = {name: chunks[name] for name in self.builders}
        # A worker may be forked at any submit, and a forked worker flushes the
        # streams it inherited when it ends: empty their buffers first so
        # nothing is printed twice.
        sys.stdout.flush()
        sys.stderr.flush()
        self._submitted += 1
        self._pending.append((self._submitted, self._pool.submit(_work, needed, people, first)))

    def finish(self) -> None:
        """Write every remaining result, in chunk order."""
        while self._pending:
            self._take()

    def _take(self) -> None:
        chunk, future = self._pending.popleft()
        try:
            result = future.result()
        except BrokenProcessPool:
            # A worker ended without an answer: killed (the kernel's out-of-memory
            # killer, a signal). Python says only "a process terminated abruptly".
            raise AanleveringError(
                f"demo-data stopped at chunk {chunk} of this registration: a worker process "
                "serialising its FHIR resources ended without an answer (killed, for example "
                "when memory ran out); nothing was written to --out. Free memory or generate "
                "fewer patients at a time"
            ) from None
        if self.bulk is not None:
            for resource_type, (data, count) in result.bulk.items():
                self.bulk.append(resource_type, data, count)
        if self.bundles is not None:
            self.bundles.skip(result.bundles)
