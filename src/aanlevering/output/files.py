"""Delivery files written atomically and checksummed while they are written.

A file is written under a hidden temporary name and renamed into place only
when complete, so an interrupted run never leaves a file that looks finished.
The sha256 and size are computed on the way out, so the manifest does not
need a second pass over gigabytes. Writing and hashing happen on two
background threads (both release the GIL), so building the next batch of text
overlaps with putting the last one on disk and checksumming it; at most a few
batches wait in between.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from aanlevering.deliver.manifest import ManifestFile


@dataclass(frozen=True)
class WrittenFile:
    """One delivery file as the manifest needs it."""

    name: str
    sha256: str
    bytes: int
    records: int
    media_type: str

    def manifest_file(self) -> ManifestFile:
        """The manifest entry of this file."""
        return ManifestFile(
            name=self.name,
            sha256=self.sha256,
            bytes=self.bytes,
            records=self.records,
            media_type=self.media_type,
        )


#: Batches handed to the writer thread and not yet on disk (bounds the memory they hold).
MAX_PENDING_WRITES = 4
#: Bytes of a file written between two background syncs (see AtomicFile._put).
SYNC_EVERY = 128 * 2**20


class _BackgroundWriter:
    """Runs writes in order on one thread and checksums in order on another.

    Why two: at a million patients the writer thread spends about 2.5 s of
    CPU on sha256 and 7 s in ``write`` (the kernel's page cache); both release
    the GIL, so on their own threads they overlap, and the thread that builds
    the text waits less for the oldest batch. Errors surface on the next call.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._hasher: ThreadPoolExecutor | None = None
        self._syncer: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[Future[None], ...]] = deque()

    def sync_soon(self, fd: int) -> Future[None]:
        """``fdatasync(fd)`` on a third thread: the disk catches up while text is built."""
        if self._syncer is None:
            self._syncer = ThreadPoolExecutor(1, thread_name_prefix="delivery-sync")
        return self._syncer.submit(os.fdatasync, fd)

    def submit(self, work: Callable[[], None], checksum: Callable[[], None] | None = None) -> None:
        """Queue ``work`` (and ``checksum``) after what is queued; waits while much is pending."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="delivery-writer")
        while len(self._pending) >= MAX_PENDING_WRITES:
            for future in self._pending.popleft():
                future.result()
        futures = [self._pool.submit(work)]
        if checksum is not None:
            if self._hasher is None:
                self._hasher = ThreadPoolExecutor(1, thread_name_prefix="delivery-checksum")
            futures.append(self._hasher.submit(checksum))
        self._pending.append(tuple(futures))

    def drain(self) -> None:
        """Wait for everything queued; raises the first error."""
        try:
            while self._pending:
                for future in self._pending.popleft():
                    future.result()
        finally:
            self._pending.clear()

    def close(self) -> None:
        """Stop the threads (after :meth:`drain`, or to give up)."""
        for futures in self._pending:
            for future in futures:
                future.cancel()
        self._pending.clear()
        for pool in (self._pool, self._hasher, self._syncer):
            if pool is not None:
                pool.shutdown(wait=True)
        self._pool = self._hasher = self._syncer = None


class AtomicFile:
    """A file under construction: ``write`` text, then ``commit`` (or it is removed)."""

    def __init__(
        self,
        folder: Path,
        name: str,
        media_type: str,
        writer: _BackgroundWriter | None = None,
    ) -> None:
        self.folder = folder
        self.name = name
        self.media_type = media_type
        self.records = 0
        self._target = folder / name
        self._partial = folder / f".{name}.partial"
        self._handle: BinaryIO = self._partial.open("wb")
        self._digest = hashlib.sha256()
        self._bytes = 0
        self._done = False
        self._writer = writer
        self._unsynced = 0  # bytes written since the last background sync began
        self._syncing: Future[None] | None = None

    def write(self, text: str) -> None:
        """Append UTF-8 text."""
        self.write_bytes(text.encode("utf-8"))

    def write_bytes(self, data: bytes | memoryview) -> None:
        """Append bytes (already encoded); ``data`` must not change until committed."""
        self._bytes += len(data)
        if self._writer is None:
            self._digest.update(data)
            self._handle.write(data)
        else:
            self._writer.submit(lambda: self._put(data), lambda: self._digest.update(data))

    def _put(self, data: bytes | memoryview) -> None:
        """On the writer thread: write, and now and then let the disk catch up.

        Why: the kernel starts writing dirty pages back only past a share of
        memory (GiBs here), so the fsync of ``commit`` waited for most of a
        million-patient delivery (seconds). A sync in the background every
        :data:`SYNC_EVERY` bytes leaves it the tail; ``commit`` still syncs.
        """
        self._handle.write(data)
        self._unsynced += len(data)
        syncing = self._syncing
        if (
            self._unsynced >= SYNC_EVERY
            and self._writer is not None
            and (syncing is None or syncing.done())
        ):
            if syncing is not None and syncing.exception() is not None:
                return  # the commit raises it; no sync after a failed one
            self._handle.flush()
            self._syncing = self._writer.sync_soon(self._handle.fileno())
            self._unsynced = 0

    def commit(self) -> WrittenFile:
        """Flush, sync and move the file into place; returns its checksum and size."""
        if self._writer is not None:
            self._writer.drain()
        if self._syncing is not None:
            self._syncing.result()
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._partial.replace(self._target)
        self._done = True
        return WrittenFile(
            name=self.name,
            sha256=self._digest.hexdigest(),
            bytes=self._bytes,
            records=self.records,
            media_type=self.media_type,
        )

    def abort(self) -> None:
        """Remove the unfinished file."""
        if not self._done:
            if self._syncing is not None:
                wait([self._syncing])  # its errors do not matter: the file goes
            self._handle.close()
            self._partial.unlink(missing_ok=True)
            self._done = True

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.abort()


class FileSet:
    """Several delivery files that appear together or not at all.

    Files are committed only when the whole set is written; on an error every
    unfinished file is removed, so a failed run leaves nothing that looks
    like a delivery.
    """

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._files: dict[str, AtomicFile] = {}
        self._writer = _BackgroundWriter()

    def file(self, name: str, media_type: str) -> AtomicFile:
        """The file called ``name``, opened on first use."""
        handle = self._files.get(name)
        if handle is None:
            handle = AtomicFile(self.folder, name, media_type, self._writer)
            self._files[name] = handle
        return handle

    def commit(self) -> tuple[WrittenFile, ...]:
        """Move every file into place; returns them sorted by name."""
        try:
            self._writer.drain()
            written = [self._files[name].commit() for name in sorted(self._files)]
        finally:
            self._writer.close()
        return tuple(written)

    def abort(self) -> None:
        """Remove every unfinished file."""
        self._writer.close()
        for handle in self._files.values():
            handle.abort()

    def __enter__(self) -> FileSet:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.abort()
