"""What a writer hands to the delivery manifest: files, counts, pseudonym labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aanlevering.deliver.manifest import ManifestFile
from aanlevering.output.files import WrittenFile


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

    def manifest_files(self) -> tuple[ManifestFile, ...]:
        """The files as manifest entries."""
        return tuple(item.manifest_file() for item in self.files)

    def file(self, name: str) -> WrittenFile:
        """The written file called ``name``."""
        for item in self.files:
            if item.name == name:
                return item
        raise KeyError(name)
