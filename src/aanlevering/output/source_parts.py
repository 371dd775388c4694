"""Minimised source resources of a large NDJSON delivery made in two processes.

Minimising the source resources is Python per resource (about 5M at a million
patients), one core's work. Which text each resource becomes depends only on its
own text and the reference map (decision 0303), so the kept texts can be cut in
two by position (decision 0318): this process minimises the first part while a
worker process (a fresh interpreter, as the FHIR reader's, decision 0317)
minimises the second with its own :class:`TextMinimiser` over the same map, and
writes each resource type's NDJSON lines to a file of its own. This process
then appends those files after its own lines, type by type, so each delivered
file holds its lines in source order, the same bytes as one process writes.

What depends on all resources is merged exactly: the guard's notes are sets
(their union), the sampled validation counts each type in source order (the
worker starts from this process's counts at the cut, computed from the keys'
types and checked after the first part), the first error in source order wins
(this process's part first; the worker's selected resources before its error
are validated first). If the first part changed the map or its counts differ
from the keys' (odd input), the worker's answer is dropped and the second part
minimised here, as in one process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import ConfigError, OutputError
from aanlevering.extract.fhir_texts import TextFile
from aanlevering.fhir.ids import ResourceIds, keyed_ids
from aanlevering.fhir.minimise import (
    PartReferenceMap,
    ReferenceStyle,
    TextMinimiser,
    UnsureReference,
)
from aanlevering.fhir.validate import SamplePolicy
from aanlevering.output.part_references import BATCH_ROWS, own_keys, part_map
from aanlevering.output.result import BuiltValues
from aanlevering.output.source_notes import SourceNotes
from aanlevering.output.sources import SourceTexts
from aanlevering.settings import whole_number_setting
from aanlevering.worker_processes import (
    default_workers,
    die_with_parent,
    mapped_table,
    own_peak_mib,
    start_worker,
    stop_worker,
    table_batches,
    wait_for_answer,
    write_answer,
    write_table,
)

log = logging.getLogger(__name__)

#: Environment settings (README, docs/fhir-output.md, decision 0318).
WORKERS_ENV = "AANLEVERING_FHIR_MINIMISE_WORKERS"
MIN_ENV = "AANLEVERING_FHIR_MINIMISE_MIN_RESOURCES"
#: Below this many source resources one process minimises them all (a worker costs about
#: a second to start; 100k resources take about 1.5 s).
DEFAULT_MIN_RESOURCES = 200_000
MAX_ENV = "AANLEVERING_FHIR_MINIMISE_MAX_RESOURCES"
#: Above this many, one process minimises them all: the worker holds its own interpreter,
#: texts and reference map (383 MiB at 510k resources, 504 MiB at 1.02M: about 260 MiB and
#: 240 bytes per resource), which would raise a million-patient delivery's peak (about 5M
#: resources, so about 1.4 GiB more) past its memory target (decision 0318).
DEFAULT_MAX_RESOURCES = 2_000_000
#: The share of the resources this process minimises: the worker also starts an interpreter,
#: reads its targets and writes its own files, and at a million patients took 49.6 s of CPU
#: for the second half against this process's 30.4 s for the first (decision 0330).
FIRST_SHARE = (3, 5)
#: A worker may take this long, plus a millisecond per resource, before it counts as hung.
_WAIT_BASE = 300.0
_WAIT_PER_RESOURCE = 1e-3
_HINT = f"write with {WORKERS_ENV}=1 to see it in full"
WORKER_CODE = "from aanlevering.output.source_parts import worker_main; worker_main()"
#: Lines joined into one write of a worker's file.
_LINES = 4_096
_COPY = 16 << 20


def minimise_workers() -> int:
    """``AANLEVERING_FHIR_MINIMISE_WORKERS`` (1 or 2), else 2 where the process may use 2 cores."""
    default = default_workers()
    text = os.environ.get(WORKERS_ENV, "").strip()
    if not text:
        return default
    if text not in {"1", "2"}:
        raise ConfigError(f"{WORKERS_ENV} must be 1 or 2, not {text!r}")
    return int(text)


def minimise_min_resources() -> int:
    """``AANLEVERING_FHIR_MINIMISE_MIN_RESOURCES`` (default 200,000)."""
    return whole_number_setting(MIN_ENV, DEFAULT_MIN_RESOURCES, minimum=0)


def minimise_max_resources() -> int:
    """``AANLEVERING_FHIR_MINIMISE_MAX_RESOURCES`` (default 2,000,000)."""
    return whole_number_setting(MAX_ENV, DEFAULT_MAX_RESOURCES, minimum=0)


def split_at(sources: SourceTexts) -> int | None:
    """Where the second part of ``sources`` starts, or None: one process minimises them all.

    Only kept texts of between the settings' sizes are cut, :data:`FIRST_SHARE` of them
    to this process. (A resource kept twice is minimised the same way in either part:
    each part's map answers as the whole map does, decision 0330.)
    """
    if minimise_workers() < 2:
        return None
    count = len(sources)
    if not max(minimise_min_resources(), 2) <= count <= minimise_max_resources():
        return None
    return count * FIRST_SHARE[0] // FIRST_SHARE[1]


def type_counts(keys: pa.Array) -> dict[str, int]:
    """How many keys (``Type/id``) of each type: the resources of a part by type."""
    if len(keys) == 0:
        return {}
    types = pc.list_element(pc.split_pattern(keys, "/", max_splits=1), 0)
    counts = pc.value_counts(types)
    return dict(
        zip(
            counts.field("values").to_pylist(),
            counts.field("counts").to_pylist(),
            strict=True,
        )
    )


@dataclass
class _Request:
    """What the worker minimises and how (pickled over its stdin: it holds the ids' key)."""

    texts: str
    style: ReferenceStyle
    closed: bool
    ids_key: bytes
    counters: dict[str, int]
    policy: SamplePolicy
    notes: bool
    parent: int
    #: Where the worker's part starts among the keys.
    start: int


@dataclass
class PartResult:
    """What the worker made: files per type, notes, selected texts, its first error."""

    files: dict[str, tuple[str, int]] = field(default_factory=dict)
    selected: list[tuple[str, str]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    types: set[str] = field(default_factory=set)
    texts: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    error: tuple[str, str] | None = None
    #: The worker's map could not answer a lookup exactly: the part is minimised by the parent.
    unsure: bool = False
    cpu: float = 0.0
    peak_mib: float = 0.0


class SecondPart:
    """The worker minimising the second part; a context manager that never leaves it behind."""

    def __init__(self, sources: SourceTexts, at: int) -> None:
        self.sources = sources
        self.at = at
        self.folder: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        #: The worker's answer, once used (see FhirStream.minimised_texts).
        self.answer: PartResult | None = None

    def first(self) -> SourceTexts:
        """The part this process minimises."""
        part = self.sources[: self.at]
        assert isinstance(part, SourceTexts)
        return part

    def second(self) -> SourceTexts:
        """The worker's part (minimised here when its answer cannot be used)."""
        part = self.sources[self.at :]
        assert isinstance(part, SourceTexts)
        return part

    def first_counts(self) -> dict[str, int]:
        """Resources of each type in the first part (from their keys)."""
        keys, _, _, _ = self.sources.parts()
        return type_counts(keys.slice(0, self.at))

    def start(
        self,
        *,
        targets: pa.Table,
        closed: bool,
        ids: ResourceIds,
        style: ReferenceStyle,
        counters: dict[str, int],
        policy: SamplePolicy,
        notes: bool,
    ) -> None:
        """Start the worker on the second part; ``counters``: the sample counts at the cut.

        ``targets``: the whole reference map's :meth:`ReferenceMap.targets`.
        """
        keys, texts, at, sizes = self.sources.parts()
        root = texts.path.parent  # the run's work folder (or the extract's private one)
        self.folder = Path(tempfile.mkdtemp(prefix="fhir-minimise-", dir=root))  # 0700
        # In batches: the worker reads the keys a batch at a time (decision 0330).
        write_table(self.folder / "keys.arrow", _batched(pa.table({"key": keys})))
        write_table(self.folder / "targets.arrow", _batched(targets))
        write_table(
            self.folder / "part.arrow",
            pa.table({"at": at[self.at :], "size": sizes[self.at :]}),
        )
        request = _Request(
            str(texts.path), style, closed, ids.worker_key(), counters, policy,
            notes, os.getpid(), self.at,
        )  # fmt: skip
        self.started = time.perf_counter()
        try:
            self.process = start_worker(WORKER_CODE, self.folder, stdin=subprocess.PIPE)
        except OSError as error:
            raise OutputError(
                f"cannot start a worker process to minimise source resources ({error.strerror})"
            ) from None
        pipe = self.process.stdin
        assert pipe is not None
        # On a thread: the pipe takes what the child reads once its imports are done.
        threading.Thread(target=_send, args=(pipe, pickle.dumps(request)), daemon=True).start()

    def result(self) -> PartResult:
        """The worker's answer once it has ended (OutputError when it gave none)."""
        assert self.process is not None and self.folder is not None
        bound = _WAIT_BASE + (len(self.sources) - self.at) * _WAIT_PER_RESOURCE
        where = f"minimising source resources {self.at + 1}-{len(self.sources)}"
        answer: PartResult = wait_for_answer(
            self.process,
            self.folder,
            bound=bound,
            doing=where,
            error=OutputError,
            hint=_HINT,
        )
        return answer

    def files(self, answer: PartResult) -> Iterator[tuple[str, int, Iterator[bytes]]]:
        """(resource type, lines, the file's bytes a chunk at a time) of each worker file."""
        assert self.folder is not None
        for resource_type, (name, lines) in answer.files.items():
            yield resource_type, lines, _chunks(self.folder / name)

    def stop(self) -> None:
        """Kill the worker if it still runs, and wait for it."""
        process = self.process
        if process is None:
            return
        stop_worker(process)

    def __enter__(self) -> SecondPart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _batched(table: pa.Table) -> pa.Table:
    """``table`` in batches of :data:`BATCH_ROWS` rows (how write_table writes it)."""
    return pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS), table.schema)


def _send(pipe: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(OSError):
        pipe.write(data)
        pipe.close()


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_COPY):
            yield chunk


# -- the worker process ---------------------------------------------------------------------


def worker_main() -> None:
    """Entry point of the worker: ``python -c ... <folder>``, its request on stdin."""
    folder = Path(sys.argv[1])
    os.umask(0o077)
    request: _Request = pickle.load(sys.stdin.buffer)  # noqa: S301 - from our own parent
    die_with_parent(request.parent)
    answer = minimise_part(request, folder)
    used = resource.getrusage(resource.RUSAGE_SELF)
    answer.cpu = used.ru_utime + used.ru_stime
    answer.peak_mib = own_peak_mib()
    write_answer(folder, answer)


def minimise_part(request: _Request, folder: Path) -> PartResult:
    """Minimise the request's texts into one NDJSON file per type in ``folder``."""
    answer = PartResult()
    part = mapped_table(folder / "part.arrow")
    at = np.asarray(part.column("at").to_numpy(), np.int64)
    sizes = np.asarray(part.column("size").to_numpy(), np.int64)
    texts = TextFile(Path(request.texts))
    # Only the entries its part can look up (decision 0330), not the whole map.
    ids = ResourceIds.of_worker_key(request.ids_key)
    references = part_map(
        ids,
        closed=request.closed,
        keys=table_batches(folder / "keys.arrow"),
        targets=table_batches(folder / "targets.arrow"),
        texts=texts.take(at, sizes),
    )
    notes = SourceNotes(BuiltValues()) if request.notes else None
    minimiser = TextMinimiser(
        references, request.style, notes.element if notes is not None else None
    )
    try:
        _minimise_texts(
            texts.take(at, sizes),
            keyed_ids(ids, own_keys(table_batches(folder / "keys.arrow"), request.start)),
            references=references,
            minimiser=minimiser,
            notes=notes,
            request=request,
            answer=answer,
            folder=folder,
        )
    except UnsureReference:
        answer.unsure = True
    except OutputError as error:
        answer.error = ("OutputError", str(error))
    except Exception as error:  # an unexpected failure: named by kind, not by value
        answer.error = (type(error).__name__, "")
    if notes is not None:
        answer.types, answer.texts = notes.handed()
    return answer


def _minimise_texts(
    windows: Iterator[pa.Array],
    keys: Iterator[tuple[str, str]],
    *,
    references: PartReferenceMap,
    minimiser: TextMinimiser,
    notes: SourceNotes | None,
    request: _Request,
    answer: PartResult,
    folder: Path,
) -> None:
    """Minimise, note, select and write each text in order (stops at the first error)."""
    counters = answer.counters = dict(request.counters)
    policy = request.policy
    pending: dict[str, list[str]] = {}
    handles: dict[str, Any] = {}
    try:
        for window in windows:
            for text in window.to_pylist():
                # The key of the text's resource and its id (hashed a batch at a time, 0510).
                key, own_id = next(keys)
                references.current = key
                item = minimiser.minimised(text, key, own_id)
                resource_type = item.resource_type
                if notes is not None:
                    notes.resource(resource_type)
                index = counters.get(resource_type, 0)
                counters[resource_type] = index + 1
                if policy.selects(index):
                    answer.selected.append((item.text, f"{resource_type} {item.id}"))
                lines = pending.get(resource_type)
                if lines is None:
                    lines = pending[resource_type] = []
                    name = f"{len(handles)}.ndjson"
                    handles[resource_type] = (folder / name).open("w", encoding="utf-8")
                    answer.files[resource_type] = (name, 0)
                lines.append(item.text)
                if len(lines) >= _LINES:
                    _flush(handles, pending, answer, resource_type)
        for resource_type in pending:
            _flush(handles, pending, answer, resource_type)
    finally:
        for handle in handles.values():
            handle.close()


def _flush(
    handles: dict[str, Any], pending: dict[str, list[str]], answer: PartResult, resource_type: str
) -> None:
    lines = pending[resource_type]
    if not lines:
        return
    handles[resource_type].write("\n".join(lines) + "\n")
    name, count = answer.files[resource_type]
    answer.files[resource_type] = (name, count + len(lines))
    pending[resource_type] = []
