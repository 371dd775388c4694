"""The FHIR input cut into parts of about equal bytes, to be read by several processes.

Reading a bulk export is Python per resource (decode, project, cut), one core's
work: at a million patients about 8.3M resources in about 5 GB of NDJSON. The
files are independent until the joins, so the streaming reader may read them
in parts, one process per part (decision 0317). A part is a list of
:class:`~aanlevering.extract.fhir_store.Segment`: NDJSON files cut at line
boundaries (a segment knows where in its file it starts, so every resource
keeps its exact line number), Bundles and single-resource files always whole.
Reading the parts in order reads exactly the input.

Small inputs (below ``min_bytes``) stay one part: starting a process costs
about a second, more than reading tens of MiB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aanlevering.errors import ExtractError
from aanlevering.extract.fhir_store import Segment, whole_files

#: Bytes read at a time while looking for the end of a line.
_SCAN = 1 << 16


@dataclass(frozen=True)
class Part:
    """Consecutive segments of the input, read by one process."""

    segments: tuple[Segment, ...]

    @property
    def size(self) -> int:
        """Bytes of input in this part."""
        return sum(_size(segment) for segment in self.segments)


def plan_parts(ndjson: list[Path], bundles: list[Path], workers: int, min_bytes: int) -> list[Part]:
    """The input in ``workers`` parts of about equal bytes (one part when small or one worker).

    Cuts fall at the first line start at or after each ``total * k / workers``
    byte; Bundles stay whole, so a cut that falls in one moves to its end. Parts
    left empty (one huge Bundle) are dropped.
    """
    segments = whole_files(ndjson, bundles)
    total = sum(_size(segment) for segment in segments)
    if workers <= 1 or total < max(min_bytes, 1):
        return [Part(tuple(segments))]
    targets = [total * k // workers for k in range(1, workers)]
    return cut_parts(segments, targets)


def cut_parts(segments: list[Segment], targets: list[int]) -> list[Part]:
    """``segments`` cut at ``targets`` (ascending offsets into the input's bytes, as one stream).

    Each cut moves forward to the next line start (NDJSON) or file end (a Bundle);
    parts left empty are dropped. Tests give the targets themselves to cut right
    before or after a given line.
    """
    parts: list[list[Segment]] = [[]]
    offset = 0  # of the current segment's first byte, in the whole input
    pending = sorted(targets)
    for segment in segments:
        size, end = _size(segment), _end(segment)
        start = segment.start
        while pending and pending[0] < offset + size:
            at = segment.start + max(pending.pop(0) - offset, 0)
            if segment.bundle:
                cut = start if at == start else end
            else:
                cut = _line_start(segment.path, max(at, start))
            if cut >= end:
                pending.insert(0, offset + size)  # nothing left here: cut before the next one
                break
            if cut > start:
                parts[-1].append(Segment(segment.path, start, cut))
                start = cut
            parts.append([])
        parts[-1].append(Segment(segment.path, start, segment.end, segment.bundle))
        offset += size
    return [Part(tuple(part)) for part in parts if part]


def _end(segment: Segment) -> int:
    return segment.end if segment.end is not None else segment.path.stat().st_size


def _size(segment: Segment) -> int:
    return _end(segment) - segment.start


def _line_start(path: Path, at: int) -> int:
    """The first line start at or after byte ``at`` of ``path`` (its size when none is)."""
    if at == 0:
        return 0
    try:
        with path.open("rb") as handle:
            handle.seek(at - 1)
            position = at - 1
            while block := handle.read(_SCAN):
                found = block.find(b"\n")
                if found >= 0:
                    return position + found + 1
                position += len(block)
            return position
    except OSError as error:
        raise ExtractError(f"{path}: cannot be read ({error.strerror})") from None
