"""The next run removes the ``work/`` of this hospital's one-process runs that were killed.

Why (decision 1017): a one-process run (``aanlevering run``, the hourly retry)
keeps a FHIR extract's source resources (ids, ``Patient/<id>`` references) in
its run folder's ``work/``, and removes it when it fails (decision 1016). A
run killed with SIGKILL, or by a power loss, cannot: ``work/`` stayed under
staging until the purge, days later, and no process could read it again (a
rerun starts a folder of its own). The extract of every pipeline run removes
it: only for run folders of this provider whose ``run.json`` says
``one_process`` and whose run does not hold its period's lock with a live
holder (:func:`aanlevering.pipeline.lock.run_folder_is_live`: on this host a
one-process holder's pid and start time, decision 1012; elsewhere its
lease). An Airflow run's folder is never touched: its later tasks read
``work/``. ``run.json`` and ``out/`` stay for the purge, as for a failed run.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from aanlevering.errors import ConfigError
from aanlevering.events.store import EventStore
from aanlevering.pipeline.lock import run_folder_is_live
from aanlevering.pipeline.state import WORK, JsonStateFile, safe_name

log = logging.getLogger(__name__)


def forget_dead_runs_work(store: EventStore, staging_dir: Path, provider_id: str) -> int:
    """Remove ``work/`` of this provider's ended one-process runs; how many (logged as a count)."""
    removed = 0
    for work in sorted((staging_dir / safe_name(provider_id)).glob(f"*/*/run-*/{WORK}")):
        folder = work.parent
        try:
            one_process = JsonStateFile(folder).read().get("one_process") is True
        except (ConfigError, OSError):
            continue  # a damaged or vanishing folder: the purge's to judge
        if not one_process or work.is_symlink() or run_folder_is_live(store, folder):
            continue
        shutil.rmtree(work, ignore_errors=True)
        removed += not work.exists()
    if removed:
        log.info(
            "removed the work folder (kept source resources) of %d run(s) of this hospital "
            "that ended without cleaning up",
            removed,
        )
    return removed
