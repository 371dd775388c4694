"""A Bundle file's entries decoded one at a time, not the whole Bundle as one value.

Why: a Bundle is one JSON document, and decoding it whole holds every entry as
Python objects at once, several times the file's size (a searchset of a
hospital's year is gigabytes), while the readers after it take one entry at a
time. Here the file is outlined first (msgspec: its top-level members and the
entries as raw byte slices of the file, no objects), each piece is checked by
the same :func:`aanlevering.json_input.parse` a whole file gets (with the depth
limit less the levels above it), and only then are the entries decoded again,
one at a time, as they are read. The file is mapped (:func:`mapped_file`), not
read into memory: its pages are the operating system's file cache, which it can
drop and read again, so what this process holds is the outline's slices and one
entry, not the file nor the decoded Bundle (decision 0503).

Anything the outline cannot show to be the same as the whole read (not an
object, another ``resourceType`` than ``Bundle``, ``entry`` not a list, any
piece that ``parse`` refuses) returns None: the caller then reads the file
whole, which gives the exact error (line, column) or the same resources. So
the errors and the resources are the whole read's, pinned by tests against it.
That includes a top-level key written twice (``"entry"`` twice: msgspec keeps
the last silently): the outline accounts for every byte between its members
(:func:`_every_member_kept`), else the whole read names the key (decision 0801).
"""

from __future__ import annotations

import json
import mmap
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from aanlevering.json_input import MAX_DEPTH, JsonInputError, parse

#: Levels above an entry's value in the file: the Bundle object and its ``entry`` list.
_ENTRY_LEVELS = 2
#: Levels above a top-level member's value: the Bundle object.
_MEMBER_LEVELS = 1

#: What msgspec raises for a file the outline leaves to the whole read (RecursionError: nesting
#: deeper than msgspec's own limit, which the whole read names as an input error).
_NOT_OUTLINED = (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeDecodeError)

#: Files of this many bytes or more are mapped, not read (:func:`mapped_file`).
MAP_FROM = 64 << 20

_outline_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
#: What lies before a top-level member's value: ``{`` or ``,``, its key and a colon.
_BEFORE_MEMBER = re.compile(
    rb'[ \t\r\n]*([{,])[ \t\r\n]*("[^"\\]*(?:\\.[^"\\]*)*")[ \t\r\n]*:[ \t\r\n]*'
)
_AFTER_MEMBERS = re.compile(rb"[ \t\r\n]*}[ \t\r\n]*")


def _address(buffer: Any) -> int:
    """Where a buffer's bytes are in memory (numpy: no copy, for read-only buffers too)."""
    return int(np.frombuffer(buffer, dtype=np.uint8).ctypes.data)


def _every_member_kept(data: bytes | mmap.mmap, top: dict[str, msgspec.Raw]) -> bool:
    """Whether the top-level object of ``data`` is exactly ``top``'s members: no key was dropped.

    msgspec's raw members are slices of ``data`` (no copy); their places show what
    lies between them, which must be one ``{``/``,``, the member's key and a colon
    each: a member written twice leaves the dropped copy in a gap. Anything not
    shown so (a copy msgspec made, an odd gap) is False: the whole read decides.
    """
    if not top:
        return False
    base = _address(data)
    spans: list[tuple[int, int, str]] = []
    for name, raw in top.items():
        size = len(raw)
        start = _address(raw) - base if size else -1
        if not 0 <= start <= len(data) - size:
            return False
        spans.append((start, start + size, name))
    spans.sort()
    at = 0
    for index, (start, end, name) in enumerate(spans):
        before = _BEFORE_MEMBER.fullmatch(data[at:start])
        if before is None or before.group(1) != (b"{" if index == 0 else b","):
            return False
        if json.loads(before.group(2)) != name:
            return False
        at = end
    return _AFTER_MEMBERS.fullmatch(data[at:]) is not None


_entries_decoder = msgspec.json.Decoder(list[msgspec.Raw] | None)


@dataclass(frozen=True)
class BundleOutline:
    """A Bundle's top-level members other than ``entry`` (decoded) and its raw entries."""

    members: dict[str, Any]
    raw_entries: Sequence[msgspec.Raw]

    def entries(self) -> Iterator[Any]:
        """The entries decoded one at a time (each was checked when outlined)."""
        for raw in self.raw_entries:
            yield parse(bytes(raw), max_depth=MAX_DEPTH - _ENTRY_LEVELS)


def mapped_file(path: Path) -> mmap.mmap | bytes:
    """The file's bytes: read, or for a file of :data:`MAP_FROM` bytes or more a read-only map.

    Why mapped: a Bundle can be gigabytes; read whole, its bytes would sit in this
    process's memory until its last entry is read, and a large enough one would have
    the process killed for memory. Mapped, its pages are the file cache's, which the
    system can drop and read again. Why not every file: a map of a file that is cut
    short while it is read (an export rewritten under a running extract, a network
    share that fails) ends the process with SIGBUS instead of an error with the
    file's name, so the ordinary files of an export are read as before (0503).
    The map is closed when the last slice of it (the outline's raw entries) is dropped.
    """
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < max(MAP_FROM, 1):  # an empty file cannot be mapped
            return handle.read()
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def outline_bundle(data: bytes | mmap.mmap) -> BundleOutline | None:  # noqa: PLR0911
    """The outline of a Bundle file, or None when only the whole read can answer for it."""
    try:
        top = _outline_decoder.decode(data)
    except _NOT_OUTLINED:
        return None
    if not _every_member_kept(data, top):
        return None  # a key twice at the top (or not shown otherwise): the whole read names it
    try:
        members = {
            name: parse(bytes(raw), max_depth=MAX_DEPTH - _MEMBER_LEVELS)
            for name, raw in top.items()
            if name != "entry"
        }
    except JsonInputError:
        return None
    if members.get("resourceType") != "Bundle":
        return None  # a single resource, or no FHIR: small, or refused; read whole
    entry = top.get("entry")
    try:
        raw_entries = _entries_decoder.decode(entry) if entry is not None else []  # no copy
    except _NOT_OUTLINED:
        return None  # not a list (or not JSON): the whole read names what is wrong
    outline = BundleOutline(members, raw_entries or [])
    try:
        for _ in outline.entries():
            pass  # every entry checked before any is read, as a whole read does
    except JsonInputError:
        return None
    return outline
