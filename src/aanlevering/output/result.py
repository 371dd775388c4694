"""What a writer hands to the delivery manifest: files, counts, pseudonym labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.deliver.manifest import ManifestFile
from aanlevering.output.files import WrittenFile


class BuiltValues:
    """The JSON literals a delivery file was joined from, per column as the output guard names it.

    A writer that builds a file only from template text and these literals
    hands them to the guard, which then checks the values instead of
    scanning the file's text (decision 0300). Each batch keeps its distinct
    literals only, so memory follows the number of distinct values.
    """

    def __init__(self) -> None:
        self._files: dict[str, dict[str, list[pa.Array]]] = {}

    def add(self, file: str, column: str, literals: pa.Array | pa.ChunkedArray) -> None:
        """Note the literals (JSON text, null for no value) written in ``column`` of ``file``."""
        distinct = pc.unique(literals)
        if isinstance(distinct, pa.ChunkedArray):
            distinct = distinct.combine_chunks()
        self._files.setdefault(file, {}).setdefault(column, []).append(distinct.cast(pa.string()))

    def expect(self, file: str) -> None:
        """``file`` is joined only from noted literals, whether or not any gets noted."""
        self._files.setdefault(file, {})

    def drop(self, file: str) -> None:
        """Forget ``file``: something not noted here was written into it too."""
        self._files.pop(file, None)

    def columns(self) -> dict[str, dict[str, pa.Array]]:
        """Per file, per column, the distinct literals written (no nulls)."""
        return {
            file: {
                column: pc.unique(pc.drop_null(pa.chunked_array(arrays, pa.string())))
                for column, arrays in columns.items()
            }
            for file, columns in self._files.items()
        }


@dataclass(frozen=True)
class OutputResult:
    """The written delivery: no patient data, only names, sizes, checksums and counts.

    ``record_counts``: records per dataset. ``key_versions``: per pseudonym
    type, every key version used (more than one only when a key rotated
    during the run). ``profiles``: normalisation profiles used.
    """

    format: str
    files: tuple[WrittenFile, ...]
    record_counts: Mapping[str, int]
    patients: int
    key_versions: Mapping[str, tuple[int, ...]]
    profiles: tuple[str, ...]
    built: Mapping[str, Mapping[str, pa.Array]] = field(default_factory=dict)

    def manifest_files(self) -> tuple[ManifestFile, ...]:
        """The files as manifest entries."""
        return tuple(item.manifest_file() for item in self.files)

    def file(self, name: str) -> WrittenFile:
        """The written file called ``name``."""
        for item in self.files:
            if item.name == name:
                return item
        raise KeyError(name)
