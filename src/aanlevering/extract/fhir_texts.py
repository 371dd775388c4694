"""The kept source resources' texts wait on disk, not in the run's memory (decision 0310).

A FHIR delivery with resources carries, per record, the cut JSON text of each
resource its values were read from (decision 0231): 2.4 GiB at a million
patients, held from the extract until the output stage had written them. Here
the texts go to an Arrow IPC file as they are read (one zstd-compressed batch
of :data:`TEXTS_PER_BATCH` texts at a time, in reading order, in the run's
``work`` folder) and the run holds only, per (record, resource) row, the
record, the resource key and where its text lies (``at``, ``size``). Whoever
needs the texts (the content fingerprint, the output) takes them back in
row order a window of about :data:`WINDOW_BYTES` at a time
(:meth:`TextFile.take`); the file is not memory-mapped, because mapped
pages count in the process's resident memory as they are read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import ipc

from aanlevering.temp_folders import owned_folder

#: Texts per compressed batch of the file (all batches but the last are full).
TEXTS_PER_BATCH = 8_192
#: Bytes of texts one :meth:`TextFile.take` window holds (at least one text).
WINDOW_BYTES = 16 << 20
#: Decoded batches kept between windows: windows of neighbouring records share batches.
_CACHED_BATCHES = 16
_SCHEMA = pa.schema([("text", pa.string())])
_COMPRESSED = ipc.IpcWriteOptions(compression="zstd")
#: A hand-over file read once by the reading process (a worker's texts, decision 0500).
_PLAIN = ipc.IpcWriteOptions()
#: The rows the run holds: the record, the resource's input key, where its text is.
ROWS_SCHEMA = pa.schema(
    [("row_ref", pa.string()), ("key", pa.string()), ("at", pa.int64()), ("size", pa.int64())]
)
#: The rows with their texts, as the readers used to hand them on (tests, small inputs).
SCHEMA = pa.schema([("row_ref", pa.string()), ("key", pa.string()), ("text", pa.string())])


class TemporaryFolder:
    """A private temporary folder (0700), removed once nothing refers to it any more.

    Held by a writer and by the file it wrote, so an extract outside a run leaves
    nothing behind, whether it finished or failed half-way through reading.
    """

    def __init__(self) -> None:
        # Named after this process: if it is killed, the next command removes it (1013).
        self.path = owned_folder("texts")
        weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)


def _private_file(folder: Path, stem: str) -> Path:
    """A new, empty file readable by the owner only (the texts hold clinical values)."""
    handle, name = tempfile.mkstemp(prefix=f"{stem}-", suffix=".arrow", dir=folder)
    os.close(handle)  # mkstemp creates it 0600
    return Path(name)


class TextFileWriter:
    """Appends texts to a new compressed IPC file, :data:`TEXTS_PER_BATCH` per batch.

    ``compressed`` False: a hand-over file that is read once, at once, by the process
    that writes the run's file (a reading worker's texts): compressing it would only
    be undone there (decision 0500).
    """

    def __init__(
        self, folder: Path | None, stem: str = "kept-texts", *, compressed: bool = True
    ) -> None:
        self._temporary: TemporaryFolder | None = None
        if folder is None:
            self._temporary = TemporaryFolder()
            folder = self._temporary.path
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder = folder
        self.path = _private_file(self.folder, stem)
        self._sink = pa.OSFile(str(self.path), "wb")
        options = _COMPRESSED if compressed else _PLAIN
        self._writer = ipc.new_file(self._sink, _SCHEMA, options=options)
        self._pending: list[pa.Array] = []
        self._pending_rows = 0
        self._sizes: list[np.ndarray] = []
        self.count = 0

    def write(self, texts: pa.Array) -> None:
        """Append ``texts`` (a string array); they get the next positions."""
        if len(texts) == 0:
            return
        offsets = np.frombuffer(texts.buffers()[1], np.int32)[texts.offset :]
        self._sizes.append(np.diff(offsets[: len(texts) + 1]).astype(np.int64))
        self.count += len(texts)
        self._pending.append(texts)
        self._pending_rows += len(texts)
        while self._pending_rows >= TEXTS_PER_BATCH:
            joined = pa.concat_arrays(self._pending)
            self._batch(joined.slice(0, TEXTS_PER_BATCH))
            rest = joined.slice(TEXTS_PER_BATCH)
            self._pending = [rest] if len(rest) else []
            self._pending_rows = len(rest)

    def _batch(self, texts: pa.Array) -> None:
        self._writer.write_batch(pa.record_batch([texts], schema=_SCHEMA))

    def close(self) -> TextFile:
        """Write what is pending and the footer; the file, ready to be read."""
        if self._pending:
            self._batch(pa.concat_arrays(self._pending))
            self._pending = []
        self._writer.close()
        self._sink.close()
        return TextFile(self.path, self._temporary)

    def sizes(self) -> np.ndarray:
        """The byte length of each text written, by position."""
        return np.concatenate(self._sizes) if self._sizes else np.empty(0, np.int64)


class TextFile:
    """Texts in a compressed IPC file, taken back a batch at a time (never memory-mapped).

    ``temporary``: the folder of this file's own (extracts made outside a run), kept
    as long as the file is.
    """

    def __init__(self, path: Path, temporary: TemporaryFolder | None = None) -> None:
        self.path = path
        self._temporary = temporary

    def __repr__(self) -> str:
        return f"TextFile({self.path.name})"

    @classmethod
    def of(
        cls, texts: pa.Array | pa.ChunkedArray, folder: Path | None
    ) -> tuple[TextFile, np.ndarray]:
        """``texts`` written to a new file in ``folder`` (a private temporary one when None).

        Returns the file and the size of each text.
        """
        writer = TextFileWriter(folder)
        chunks = texts.chunks if isinstance(texts, pa.ChunkedArray) else [texts]
        for chunk in chunks:
            writer.write(chunk)
        return writer.close(), writer.sizes()

    def take(
        self, at: np.ndarray, sizes: np.ndarray, window: int | None = None
    ) -> Iterator[pa.Array]:
        """The texts at positions ``at`` (of ``sizes`` bytes), in that order, a window at a time.

        Windows hold about ``window`` bytes of texts (at least one text).

        Each window reads the batches its texts lie in (ascending, so the file is read
        forward) and keeps the last few decoded, so neighbouring windows share them:
        texts of neighbouring records usually lie near each other in the input.
        """
        at = np.asarray(at, np.int64)
        if len(at) == 0:
            return
        window = window or WINDOW_BYTES
        ends = np.cumsum(np.asarray(sizes, np.int64))
        cache: OrderedDict[int, pa.Array] = OrderedDict()
        with pa.OSFile(str(self.path), "rb") as source:
            reader = ipc.open_file(source)
            start = 0
            while start < len(at):
                base = int(ends[start - 1]) if start else 0
                stop = max(int(np.searchsorted(ends, base + window, side="right")), start + 1)
                yield _gathered(reader, cache, at[start:stop])
                start = stop

    def discard(self) -> None:
        """Remove the file now (its texts were rewritten to another)."""
        self.path.unlink(missing_ok=True)

    def link_to(self, target: Path) -> TextFile:
        """The same texts at ``target`` (a hard link, or a copy on another file system)."""
        if target.exists():
            target.unlink()
        try:
            os.link(self.path, target)
        except OSError:
            shutil.copyfile(self.path, target)
            os.chmod(target, 0o600)
        return TextFile(target)


def _gathered(
    reader: ipc.RecordBatchFileReader, cache: OrderedDict[int, pa.Array], at: np.ndarray
) -> pa.Array:
    """The texts at ``at`` in that order: a take per batch, then one reordering take."""
    batch_of = at // TEXTS_PER_BATCH
    order = np.argsort(batch_of, kind="stable")
    grouped = batch_of[order]
    bounds = np.flatnonzero(np.diff(grouped)) + 1
    pieces: list[pa.Array] = []
    for group in np.split(order, bounds):
        index = int(batch_of[group[0]])
        texts = cache.get(index)
        if texts is None:
            texts = reader.get_batch(index).column(0)
            cache[index] = texts
            if len(cache) > _CACHED_BATCHES:
                cache.popitem(last=False)
        else:
            cache.move_to_end(index)
        pieces.append(texts.take(pa.array(at[group] - index * TEXTS_PER_BATCH)))
    joined = pa.concat_arrays(pieces) if len(pieces) > 1 else pieces[0]
    del pieces  # the window is held twice at most: joined, and reordered
    if np.all(order[1:] > order[:-1]):
        return joined
    return joined.take(pa.array(np.argsort(order)))


@dataclass(frozen=True, eq=False)
class KeptSources:
    """The kept source resources: rows (``row_ref``, ``key``, ``at``, ``size``) and their texts.

    ``row_ref`` is the record a resource belongs to (the later stages restrict by the
    records they keep), ``key`` its ``Type/id`` in the input, ``at`` where its text
    lies in ``texts``. Rows that leave (opted out, no pseudonym) leave the texts
    file as it is: only the rows are filtered.
    """

    rows: pa.Table
    texts: TextFile

    @classmethod
    def of_table(cls, table: pa.Table, folder: Path | None = None) -> KeptSources:
        """Rows with their texts (:data:`SCHEMA`), the texts written to a file in ``folder``."""
        texts, sizes = TextFile.of(table.column("text"), folder)
        rows = pa.table(
            [
                table.column("row_ref"),
                table.column("key"),
                pa.array(np.arange(table.num_rows), pa.int64()),
                pa.array(sizes, pa.int64()),
            ],
            schema=ROWS_SCHEMA,
        )
        return cls(rows, texts)

    @property
    def num_rows(self) -> int:
        """(record, resource) rows."""
        return int(self.rows.num_rows)

    @property
    def row_refs(self) -> pa.ChunkedArray:
        """The record of each row."""
        return self.rows.column("row_ref")

    @property
    def keys(self) -> pa.ChunkedArray:
        """The resource key (``Type/id`` in the input) of each row."""
        return self.rows.column("key")

    def filter(self, keep: pa.Array | pa.ChunkedArray) -> KeptSources:
        """Only the rows ``keep`` marks; the texts file is shared."""
        return KeptSources(self.rows.filter(keep), self.texts)

    def text_windows(self, window: int | None = None) -> Iterator[tuple[pa.Array, pa.Array]]:
        """(keys, texts) of the rows in order, a window of about ``window`` text bytes at a time."""
        at = _numpy(self.rows.column("at"))
        sizes = _numpy(self.rows.column("size"))
        keys = self.keys
        start = 0
        for texts in self.texts.take(at, sizes, window):
            yield keys.slice(start, len(texts)).combine_chunks(), texts
            start += len(texts)

    def to_table(self) -> pa.Table:
        """Rows with their texts in memory (:data:`SCHEMA`): for tests and small inputs."""
        pieces = [texts for _, texts in self.text_windows()]
        text = pa.chunked_array(pieces, pa.string()).combine_chunks()
        return pa.table([self.row_refs, self.keys, text], schema=SCHEMA)

    def equals(self, other: KeptSources) -> bool:
        """Same rows with the same texts (where the texts lie may differ)."""
        return bool(self.to_table().equals(other.to_table()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeptSources) and self.equals(other)

    __hash__ = None  # type: ignore[assignment]


def _numpy(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(column.to_numpy(), np.int64)


def hash_rows(sources: KeptSources, feed: Callable[[memoryview], object]) -> None:
    """Feed ``key NUL text NUL`` of every row, in order, to ``feed`` (a hash's update).

    Independent of how the rows are cut into windows: the same rows give the same bytes.
    """
    for keys, texts in sources.text_windows():
        feed_joined(keys, texts, feed)


def feed_joined(keys: pa.Array, texts: pa.Array, feed: Callable[[memoryview], object]) -> None:
    """Feed ``key NUL text NUL`` of one window's rows to ``feed`` in one piece.

    Why one piece: a hash's update per row cost more than the hashing itself.
    """
    joined = pc.binary_join_element_wise(keys, texts, pa.scalar("", pa.string()), "\x00")
    offsets = np.frombuffer(joined.buffers()[1], np.int32)[joined.offset :]
    data = joined.buffers()[2]
    if data is not None:
        start, end = int(offsets[0]), int(offsets[len(joined)])
        feed(memoryview(data)[start:end])
