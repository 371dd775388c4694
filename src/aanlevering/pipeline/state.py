"""What one run hands from stage to stage: a small JSON state, Arrow tables, a staging folder.

Why a protocol with two implementations: the CLI runs every stage in one
process and can keep the tables in memory; Airflow runs each stage in its own
process and hands them over through files (:class:`aanlevering.runs.folder.RunFolder`).
The stages are written once against :class:`RunState`, so both paths run the
same code on the same data shapes (Arrow tables, pseudonyms as a
:class:`~aanlevering.pseudonym.model.PseudonymTable`), with the same staging
layout and clean-up rules.

Staging layout, the same on both paths::

    $AANLEVERING_HOME/staging/<provider>/<registration>/<period>/run-<safe_name(run id)>/
        run.json        the state: references and counts, never patient data
        work/           tables handed between stages (folder state only)
        out/            the delivery files and manifest, exactly as sent
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from aanlevering.errors import ConfigError
from aanlevering.extract.model import Extract
from aanlevering.private_files import make_private_folder
from aanlevering.pseudonym.model import PseudonymTable

STATE_FILE = "run.json"
#: The run id as it was given (Airflow's, a manual one), beside its folder name ``run_id``.
GIVEN_RUN_ID = "given_run_id"
#: The run folder's sub-folder of files that only the run's own processes read (a FHIR
#: extract's kept source resources, its reading workers' folders).
WORK = "work"


def run_folder_path(
    staging_dir: Path, provider_id: str, registration_id: str, period_label: str, run_id: str
) -> Path:
    """The staging folder of one run; every run has its own, so runs never share files."""
    return run_folder_named(
        staging_dir, provider_id, registration_id, period_label, safe_name(run_id)
    )


def run_folder_named(
    staging_dir: Path, provider_id: str, registration_id: str, period_label: str, run_name: str
) -> Path:
    """The staging folder of the run whose :func:`safe_name` is ``run_name`` (applied once)."""
    return staging_dir / safe_name(provider_id) / registration_id / period_label / f"run-{run_name}"


_KEPT = frozenset("-_.")
_HASH_MARK = "@"  # never kept from an id, so it marks a hashed name (decision 0404)
_HASH_HEX = 12
#: The readable part of a hashed name is cut here: the name stays a valid file name and
#: part of a TTP request id (``guards.check_run_id``: at most 151 characters).
_READABLE_MAX = 100


def safe_name(value: str) -> str:
    """A path segment from an outside id, different for every different id.

    Why: the run id names the run's folder and holds its lock, and it comes
    from outside (an Airflow run id holds ``:`` and ``+``; a manual one holds
    anything). An id of only ASCII letters, digits, ``-``, ``_`` and ``.`` is its
    own name (the CLI's ids, provider ids: names as before). Any other keeps its
    readable part (other characters as ``_``, at most 100 of them) and gets
    ``@`` and 12 hex digits of the id's sha256: ``@`` is never kept from an id,
    so a hashed name is never another id's own name, and two ids share a name
    only if their hashes collide. ``@`` is also one of the characters a TTP
    request id may hold (the name is sent as the run id). Not idempotent:
    apply it once, to the original id.
    """
    readable = "".join(c if c.isascii() and (c.isalnum() or c in _KEPT) else "_" for c in value)
    if readable == value and value not in {"", ".", ".."}:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{readable[:_READABLE_MAX]}{_HASH_MARK}{digest[:_HASH_HEX]}"


def legacy_safe_name(value: str) -> str:
    """The name :func:`safe_name` gave before decision 0404 (not injective).

    Only for finding a run folder or lock made before then; never for a new one.
    """
    return "".join(c if c.isalnum() or c in _KEPT else "_" for c in value) or "_"


class RunState(Protocol):
    """The hand-over between stages of one run (see the module docstring)."""

    @property
    def path(self) -> Path:
        """The run's staging folder."""
        ...

    @property
    def out(self) -> Path:
        """The delivery files and manifest, exactly as sent."""
        ...

    def values(self) -> dict[str, Any]:
        """The JSON state: references and counts only."""
        ...

    def update(self, **values: Any) -> dict[str, Any]:
        """Merge ``values`` into the state and persist it."""
        ...

    def save_extract(
        self, stage: str, extract: Extract, refs: Mapping[str, pa.Array] | None = None
    ) -> None:
        """Keep an extract (and the patient refs per dataset) as the output of ``stage``."""
        ...

    def load_extract(self, stage: str) -> tuple[Extract, dict[str, pa.Array]]:
        """The extract ``stage`` saved and its patient refs (empty when none were saved)."""
        ...

    def load_patient_refs(self, stage: str) -> dict[str, pa.Array]:
        """Only the patient refs ``stage`` saved (its tables may be gone by then)."""
        ...

    def save_pseudonyms(self, pseudonyms: PseudonymTable) -> None:
        """Keep the run's pseudonyms (Arrow columns) for the output stage."""
        ...

    def load_pseudonyms(self) -> PseudonymTable:
        """The pseudonyms the pseudonymise stage saved."""
        ...

    def remove(self) -> None:
        """Delete the staging folder and everything held (identifiers live no longer)."""
        ...


class JsonStateFile:
    """The ``run.json`` both implementations keep, written atomically with mode 0600."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def file(self) -> Path:
        """Where the state lives."""
        return self.folder / STATE_FILE

    def read(self) -> dict[str, Any]:
        """The state; ConfigError when the folder was removed or never made."""
        if not self.file.is_file():
            raise ConfigError(
                f"run folder {self.folder} has no {STATE_FILE} (removed or never made)"
            )
        try:
            loaded = json.loads(self.file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            loaded = None
        if not isinstance(loaded, dict):
            raise ConfigError(
                f"run folder {self.folder}: its {STATE_FILE} is damaged (a power cut or disk "
                "error while a step wrote it?); this run cannot go on: clear the whole run to "
                "start it afresh"
            )
        return loaded

    def update(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Merge and persist atomically: a killed step leaves the old state."""
        make_private_dir(self.folder)
        state = self.read() if self.file.is_file() else {}
        state.update(values)
        tmp = self.file.with_suffix(".tmp")
        create_private_file(tmp)
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps(state, indent=1, sort_keys=True))
            handle.flush()
            os.fsync(handle.fileno())  # whole on disk before it replaces the old state
        tmp.replace(self.file)
        return state


def create_private_file(path: Path) -> None:
    """Create (or empty) ``path`` readable by the owner only, before anything is written to it."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) readable by the owner only: staging holds identifiers.

    A folder that exists already keeps its mode (decision 0702).
    """
    make_private_folder(path)


class MemoryRunState:
    """The in-process state: tables stay in memory, files only in ``out/`` and ``run.json``.

    And, while the process runs, in ``work/``: a FHIR extract's kept source resources
    (ids, ``Patient/<id>`` references), which only this process can read back; the
    run removes them when it fails (:meth:`forget_work`, decision 1016).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._json = JsonStateFile(path)
        self._extracts: dict[str, Extract] = {}
        self._refs: dict[str, dict[str, pa.Array]] = {}
        self._pseudonyms: PseudonymTable | None = None
        self._values: dict[str, Any] = {}

    @property
    def path(self) -> Path:
        """The run's staging folder."""
        return self._path

    @property
    def out(self) -> Path:
        """The delivery files and manifest, exactly as sent."""
        return self._path / "out"

    def values(self) -> dict[str, Any]:
        """The state, also after :meth:`remove` (the caller reports from it)."""
        return dict(self._values)

    def update(self, **values: Any) -> dict[str, Any]:
        """Merge ``values`` into the state; ``run.json`` mirrors it for purge and inspection."""
        self._values.update(values)
        return self._json.update(values)

    def save_extract(
        self, stage: str, extract: Extract, refs: Mapping[str, pa.Array] | None = None
    ) -> None:
        """Hold the extract of ``stage``; earlier stages' tables are dropped to save memory."""
        self._extracts = {stage: extract}
        self._refs[stage] = dict(refs or {})

    def load_extract(self, stage: str) -> tuple[Extract, dict[str, pa.Array]]:
        """The extract ``stage`` saved (only the latest stage's tables are held)."""
        if stage not in self._extracts:
            raise ConfigError(f"run {self._path.name}: the output of step {stage!r} is missing")
        return self._extracts[stage], self._refs[stage]

    def load_patient_refs(self, stage: str) -> dict[str, pa.Array]:
        """The patient refs ``stage`` saved."""
        if stage not in self._refs:
            raise ConfigError(f"run {self._path.name}: the output of step {stage!r} is missing")
        return self._refs[stage]

    def save_pseudonyms(self, pseudonyms: PseudonymTable) -> None:
        """Hold the pseudonyms."""
        self._pseudonyms = pseudonyms

    def load_pseudonyms(self) -> PseudonymTable:
        """The pseudonyms the pseudonymise stage saved."""
        if self._pseudonyms is None:
            raise ConfigError(f"run {self._path.name}: no pseudonyms (run pseudonymise first)")
        return self._pseudonyms

    def forget_work(self) -> None:
        """Remove ``work/``: no later process resumes this run (a rerun starts afresh)."""
        shutil.rmtree(self._path / WORK, ignore_errors=True)

    def remove(self) -> None:
        """Drop the tables and the staging folder."""
        self._extracts.clear()
        self._refs.clear()
        self._pseudonyms = None
        if self._path.exists():
            shutil.rmtree(self._path)
