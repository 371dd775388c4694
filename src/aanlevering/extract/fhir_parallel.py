"""The streaming FHIR reader on more than one core: parts of the input read in worker processes.

Reading is Python per resource, one core's work (180 s of a million-patient
run). The input's parts (:mod:`aanlevering.extract.fhir_parts`) are
independent until the joins, so this process reads the first part while one
worker process per further part reads that part into columns of its own
(decision 0317). A worker hands its columns back as Arrow IPC files in a
private folder (memory-mapped here) and its kept texts as its own text file;
they are appended after the rows read before them: resource rows and focus
positions offset, texts copied into this process's text file, counts added
up, the files' outcomes (which files were read, lines left out) replayed in
input order. Everything after (keys, duplicates, the joins, the kept texts)
runs on the merged columns, as on columns read in one process.

Errors are the one-process reader's: the first in input order wins (this
process's part before any worker's, a worker's before a later one's), with
its file and line. A worker that fails without an answer, is killed, or takes
unreasonably long fails the extract with an :class:`ExtractError`; workers
never outlive the read (killed on any error, and by the kernel when this
process dies), and their folder is removed in every case.

Workers are fresh interpreters (``python -c``), never forks: the reading
process may have threads (an Airflow task process, pyarrow's pools).
"""

from __future__ import annotations

import logging
import os
import pickle
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import ExtractError
from aanlevering.extract.fhir_columns import Unsupported
from aanlevering.extract.fhir_parts import Part, plan_parts
from aanlevering.extract.fhir_resources import ReadElements
from aanlevering.extract.fhir_store import FileOutcomes, input_files, read_segments
from aanlevering.extract.fhir_stream import DatasetSpec, PartReader, StreamedInput
from aanlevering.temp_folders import owned_folder
from aanlevering.worker_processes import (
    die_with_parent,
    mapped_table,
    start_worker,
    stop_worker,
    wait_for_answer,
    write_answer,
    write_table,
)

log = logging.getLogger(__name__)

#: A worker may take this long to start, plus a second per MiB of its part (about 30x
#: the usual rate) before it counts as hung and is killed.
_WAIT_BASE = 300.0
_WAIT_PER_BYTE = 1 / (1 << 20)
_REQUEST = "request.pickle"
#: What a worker process runs (``python -c``; its folder is the argument).
WORKER_CODE = "from aanlevering.extract.fhir_parallel import worker_main; worker_main()"
#: How to see a worker's crash in full.
_HINT = "read with AANLEVERING_FHIR_READ_WORKERS=1 to see it in full"


@dataclass(frozen=True)
class _Request:
    """What a worker reads and how (pickled into its folder)."""

    part: Part
    skip_others: bool
    datasets: tuple[DatasetSpec, ...]
    mrn_system: str | None
    read: ReadElements | None
    parent: int


@dataclass
class _Result:
    """What a worker read: its files' outcomes, its first error, or its columns' files."""

    outcomes: list[tuple[Any, ...]] = field(default_factory=list)
    error: tuple[str, str] | None = None
    tables: list[str] = field(default_factory=list)
    full_urls: dict[str, int] = field(default_factory=dict)
    odd_ids: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    texts: str | None = None
    text_rows: str | None = None
    odd_references: bool = False

    def ndjson(self, name: str, read: int, others: list[int], ends_file: bool) -> None:
        """Remember a segment's outcome, to be replayed in the reading process."""
        self.outcomes.append(("ndjson", name, read, list(others), ends_file))

    def bundle(self, name: str, read: bool) -> None:
        """Remember a Bundle's outcome, to be replayed in the reading process."""
        self.outcomes.append(("bundle", name, read))


def read_input(
    input_path: Path,
    datasets: Sequence[DatasetSpec],
    mrn_system: str | None,
    read: ReadElements | None,
    texts_folder: Path | None = None,
    *,
    workers: int = 1,
    min_bytes: int = 0,
) -> StreamedInput:
    """Read every resource of the input into columns, in up to ``workers`` processes.

    An input of fewer than ``min_bytes`` bytes, or ``workers`` 1, is read in this
    process alone. ``texts_folder``: where the cut texts wait on disk (the run's
    work folder; a private temporary folder when None), and where the workers'
    folders are made.
    """
    input_path = Path(input_path)
    ndjson, bundles = input_files(input_path)
    parts = plan_parts(ndjson, bundles, workers, min_bytes)
    return read_parts(
        input_path, parts, datasets, mrn_system=mrn_system, read=read, texts_folder=texts_folder
    )


def read_parts(
    input_path: Path,
    parts: Sequence[Part],
    datasets: Sequence[DatasetSpec],
    *,
    mrn_system: str | None,
    read: ReadElements | None,
    texts_folder: Path | None = None,
) -> StreamedInput:
    """Read ``parts`` (the input in order): the first here, each further one in a worker."""
    files: list[str] = []
    outcomes = FileOutcomes(input_path, files)
    skip_others = input_path.is_dir()
    reader = PartReader(datasets, mrn_system, read, texts_folder)
    if len(parts) <= 1:
        segments = parts[0].segments if parts else ()
        reader.read(read_segments(segments, outcomes, skip_others))
        outcomes.finish()
        return reader.done(files)
    request = _Request(parts[0], skip_others, tuple(datasets), mrn_system, read, os.getpid())
    started = time.perf_counter()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = merged = 0.0
    with _workers(parts[1:], request, texts_folder) as workers:
        reader.read(read_segments(parts[0].segments, outcomes, skip_others))
        own = time.perf_counter() - started
        for number, worker in enumerate(workers, start=2):
            at = time.perf_counter()
            result = worker.result(number, len(parts))
            waited += time.perf_counter() - at
            for outcome in result.outcomes:
                getattr(outcomes, outcome[0])(*outcome[1:])
            if result.error is not None:
                raise _error(result.error, number, len(parts))
            at = time.perf_counter()
            _merge(reader, result, worker.folder)
            merged += time.perf_counter() - at
    outcomes.finish()
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    log.info(
        "read the FHIR input in %d parts, %d of them in worker processes: %.1f s (this "
        "process's part %.1f s, then waiting for the workers %.1f s, merging %.1f s; the "
        "workers' CPU time %.1f s)",
        len(parts),
        len(parts) - 1,
        time.perf_counter() - started,
        own,
        waited,
        merged,
        ended.ru_utime + ended.ru_stime - children.ru_utime - children.ru_stime,
    )
    return reader.done(files)


def _error(error: tuple[str, str], number: int, parts: int) -> Exception:
    """A worker's error as the reader in this process would have raised it."""
    kind, message = error
    if kind == "ExtractError":
        return ExtractError(message)
    if kind == "Unsupported":
        return Unsupported(message)
    return ExtractError(
        f"reading part {number} of {parts} of the FHIR input failed in its worker process ({kind})"
    )


class _Worker:
    """One worker process reading one part into a private folder of its own."""

    def __init__(self, part: Part, request: _Request, root: Path) -> None:
        self.part = part
        self.folder = owned_folder("fhir-part", root)  # 0700, swept if we are killed (1013)
        with (self.folder / _REQUEST).open("wb") as handle:
            pickle.dump(replace(request, part=part), handle)
        try:
            self.process = start_worker(WORKER_CODE, self.folder)
        except OSError as error:
            self.remove()
            raise ExtractError(
                f"cannot start a worker process to read the FHIR input ({error.strerror})"
            ) from None

    def result(self, number: int, parts: int) -> _Result:
        """The worker's result, once it has ended (ExtractError when it gave none)."""
        where = f"part {number} of {parts} of the FHIR input ({_where(self.part)})"
        bound = _WAIT_BASE + self.part.size * _WAIT_PER_BYTE
        result: _Result = wait_for_answer(
            self.process,
            self.folder,
            bound=bound,
            doing=f"reading {where}",
            error=ExtractError,
            hint=_HINT,
        )
        return result

    def stop(self) -> None:
        """Kill the worker if it still runs, and wait for it (never leaves a stray process)."""
        stop_worker(self.process)

    def remove(self) -> None:
        """Remove the worker's folder (its columns are mapped or copied by now)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _where(part: Part) -> str:
    first = part.segments[0]
    return f"{first.path.name} from byte {first.start}" if first.start else first.path.name


@contextmanager
def _workers(
    parts: Sequence[Part], request: _Request, folder: Path | None
) -> Iterator[list[_Worker]]:
    """One worker per part, started now; stopped and their folders removed on leaving."""
    root = folder if folder is not None else Path(tempfile.gettempdir())
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    workers: list[_Worker] = []
    try:
        for part in parts:
            workers.append(_Worker(part, request, root))
        yield workers
    finally:
        for worker in workers:
            worker.stop()
            worker.remove()


def _merge(reader: PartReader, result: _Result, folder: Path) -> None:
    """Append a worker's columns after those read before them (rows offset, texts copied)."""
    builders = reader.builders()
    if len(builders) != len(result.tables):  # pragma: no cover - same specs, same builders
        raise ExtractError("a FHIR reading worker returned columns of another shape")
    offsets = [base.rows if base is not None else 0 for _, _, base in builders]
    rows = reader.keys.columns.rows
    for (builder, column, _), offset, name in zip(builders, offsets, result.tables, strict=True):
        builder.extend(mapped_table(folder / name), column, offset)
    full_urls = reader.keys.full_urls
    for url, row in result.full_urls.items():
        full_urls.setdefault(url, row + rows)
    reader.keys.odd_ids = reader.keys.odd_ids or result.odd_ids
    for kind, count in result.counts.items():
        reader.counts[kind] = reader.counts.get(kind, 0) + count
    texts = reader.dispatch.texts
    if texts is not None and result.texts is not None and result.text_rows is not None:
        text_rows = mapped_table(folder / result.text_rows).column(0).combine_chunks()
        offset_rows = pc.add(text_rows, pa.scalar(rows, pa.int64()))
        texts.extend_from(folder / result.texts, offset_rows, result.odd_references)


# -- the worker process ---------------------------------------------------------------------


def worker_main() -> None:
    """Entry point of a worker process: ``python -c ... <folder>`` (see :class:`_Worker`)."""
    folder = Path(sys.argv[1])
    os.umask(0o077)
    with (folder / _REQUEST).open("rb") as handle:
        request: _Request = pickle.load(handle)  # noqa: S301 - written by our own parent
    die_with_parent(request.parent)
    write_answer(folder, _read_part(request, folder))


def _read_part(request: _Request, folder: Path) -> _Result:
    """Read the request's part into columns and write them to ``folder``."""
    result = _Result()
    # The texts are read back once, by the reading process, which compresses them into
    # the run's file: compressing them here too would be undone there (decision 0500).
    reader = PartReader(
        request.datasets, request.mrn_system, request.read, folder, compress_texts=False
    )
    try:
        reader.read(read_segments(request.part.segments, result, request.skip_others))
    except (ExtractError, Unsupported) as error:
        result.error = (type(error).__name__, str(error))
        return result
    except Exception as error:
        result.error = (type(error).__name__, "")
        return result
    for index, (builder, _, _) in enumerate(reader.builders()):
        name = f"columns-{index}.arrow"
        write_table(folder / name, builder.table())
        result.tables.append(name)
    result.full_urls = reader.keys.full_urls
    result.odd_ids = reader.keys.odd_ids
    result.counts = reader.counts
    texts = reader.dispatch.texts
    if texts is not None:
        rows = texts.text_rows()
        file, _ = texts.close()
        result.texts = file.path.name
        result.text_rows = "text-rows.arrow"
        write_table(folder / result.text_rows, pa.table({"row": pa.array(rows, pa.int64())}))
        result.odd_references = texts.odd_references
    return result
