"""Knobs of an extract that are not part of a registration's config.

The registration config says how *this hospital's* EHR export looks; these
options cover what an operator may decide per run (accept extra columns once
while the mapping is being updated) or what a test tunes (batch size).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ExtractOptions:
    """Per-run options of :func:`aanlevering.extract.extract`.

    ``allow_unknown_columns``: accept CSV columns the mapping does not name
    (they are ignored). Off by default, because an EHR export that changed
    shape must be noticed before anything is delivered.
    ``block_size``: bytes the CSV reader parses per batch (rows per batch follow
    from it); larger is faster, smaller uses less memory.
    ``mrn_system``: FHIR identifier system of the hospital's own patient
    number, overriding the registration's ``source.fhir.mrn_system``; a patient
    without it falls back to the identifier typed ``MR`` (see ``fhir_identity``).
    ``work_dir``: where a FHIR extract's kept resource texts wait on disk (the run's
    ``work`` folder, removed with the run); a private temporary folder when None.
    """

    allow_unknown_columns: bool = False
    block_size: int = 8 << 20
    mrn_system: str | None = None
    work_dir: Path | None = None
