"""Retention of staging folders, which may hold identifiers between steps.

A receipted delivery's staging folder is removed right away by the run.
Folders left by runs that failed or were stopped are kept for inspection and
retry, at most ``AANLEVERING_STAGING_RETENTION_DAYS`` days (default 7), then
:func:`purge_staging` removes them and records that it did; never the folder of
a run that still holds its period's lock (decision 0659).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from aanlevering.deliver.events import StagingPurged, delivery_stream
from aanlevering.events.store import EventStore
from aanlevering.settings import Settings, number_setting

log = logging.getLogger(__name__)
DEFAULT_RETENTION_DAYS = 7


def retention_days(env: Mapping[str, str] | None = None) -> float:
    """Configured retention of leftover staging folders, in days."""
    return number_setting("AANLEVERING_STAGING_RETENTION_DAYS", DEFAULT_RETENTION_DAYS, 0, env)


@dataclass(frozen=True)
class PurgedFolder:
    """One staging folder removed (registration, period, version folder name)."""

    registration: str
    period: str
    version: str
    files_removed: int


def purge_staging(
    settings: Settings,
    store: EventStore,
    *,
    older_than_days: float,
    still_running: Callable[[Path], bool],
    now: float | None = None,
) -> list[PurgedFolder]:
    """Remove run folders under staging not modified for ``older_than_days``.

    ``still_running(folder)``: whether the run of a ``run-<id>`` folder still
    holds its period (:func:`aanlevering.pipeline.lock.run_folder_is_live`);
    such a folder is kept whatever its age (decision 0659). Passed in because
    the run lock is the pipeline's, a layer above this one.

    Run folders are ``<provider>/<registration>/<period>/run-<id>`` (every
    stage rewrites ``run.json``, so a live run's folder is recent); version
    folders ``<registration>/<period>/v<n>`` of earlier releases are purged too.
    """
    now = time.time() if now is None else now
    cutoff = now - older_than_days * 86400
    purged: list[PurgedFolder] = []
    candidates = [*settings.staging_dir.glob("*/*/*/run-*"), *settings.staging_dir.glob("*/*/v*")]
    for folder in sorted(candidates):
        if not folder.is_dir() or folder.stat().st_mtime > cutoff:
            continue
        if folder.name.startswith("run-") and still_running(folder):
            log.info("staging %s: its run still holds the period; not purged", folder)
            continue
        registration, period = folder.parent.parent.name, folder.parent.name
        files = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder)
        purged.append(PurgedFolder(registration, period, folder.name, files))
        # Names the folder as a key does (provider first; decision 0220), so the
        # event says whose run was purged; pre-0150 version folders had no provider.
        owner = folder.parent.parent.parent.name if folder.name.startswith("run-") else ""
        key = ".".join(part for part in (owner, registration, period, folder.name) if part)
        store.append(
            delivery_stream(registration, period),
            [
                StagingPurged(
                    registration=registration,
                    period=period,
                    idempotency_key=key,
                    files_removed=files,
                )
            ],
            None,
        )
        log.info("purged staging %s (%d files)", folder, files)
    return purged
