"""Which file system events a folder saw, through Linux inotify (ctypes, no package).

Why: "a reader never sees a partial file" is a property of the write path, not of
timing: a file written in place is created and then filled under its own name (a
reader in between reads it half), one written whole appears under its name only by
a rename. Races rarely show the difference; the events always do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_NONBLOCK = 0o4000
_WATCHED = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
_HEADER = struct.Struct("iIII")


class FolderEvents:
    """The (name, mask) events one folder saw since it was watched."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def read(self) -> list[tuple[str, int]]:
        """Every event queued so far (never blocks)."""
        events: list[tuple[str, int]] = []
        while True:
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                return events
            offset = 0
            while offset < len(data):
                _, mask, _, length = _HEADER.unpack_from(data, offset)
                start = offset + _HEADER.size
                name = data[start : start + length].rstrip(b"\0").decode()
                events.append((name, mask))
                offset = start + length

    def of(self, name: str) -> list[int]:
        """The masks of the events that named ``name``."""
        return [mask for event, mask in self.read() if event == name]


@contextmanager
def watched(folder: Path) -> Iterator[FolderEvents]:
    """Watch ``folder`` (which must exist) for creations, writes and renames into it."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = libc.inotify_init1(IN_NONBLOCK)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    try:
        if libc.inotify_add_watch(fd, os.fsencode(folder), _WATCHED) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {folder}")
        yield FolderEvents(fd)
    finally:
        os.close(fd)
