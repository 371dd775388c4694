"""Knobs of an extract that are not part of a registration's config.

The registration config says how *this hospital's* EHR export looks; these
options cover what an operator may decide per run (accept extra columns once
while the mapping is being updated) or what a test tunes (batch size).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aanlevering import worker_processes
from aanlevering.settings import whole_number_setting

#: Environment settings of the FHIR reader's processes (docs/extract.md, decision 0317).
READ_WORKERS_ENV = "AANLEVERING_FHIR_READ_WORKERS"
PARALLEL_MIN_ENV = "AANLEVERING_FHIR_PARALLEL_MIN_MIB"
#: Below this, a FHIR input is read in one process: starting another costs about a second.
DEFAULT_PARALLEL_MIN_MIB = 64


def default_read_workers() -> int:
    """``AANLEVERING_FHIR_READ_WORKERS``, else 2 where this process may use two cores, else 1."""
    return whole_number_setting(READ_WORKERS_ENV, worker_processes.default_workers(), minimum=1)


def default_parallel_min_bytes() -> int:
    """``AANLEVERING_FHIR_PARALLEL_MIN_MIB`` (default 64) in bytes."""
    return whole_number_setting(PARALLEL_MIN_ENV, DEFAULT_PARALLEL_MIN_MIB, minimum=0) << 20


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
    ``read_workers``: processes that read a FHIR input of at least
    ``parallel_min_bytes`` bytes, each a part of about equal bytes (1: this process
    alone); from the environment by default (decision 0317).
    """

    allow_unknown_columns: bool = False
    block_size: int = 8 << 20
    mrn_system: str | None = None
    work_dir: Path | None = None
    read_workers: int = field(default_factory=default_read_workers)
    parallel_min_bytes: int = field(default_factory=default_parallel_min_bytes)
