"""A staging purge never removes the folder of a run that holds its period (decision 0659).

``aanlevering staging purge --older-than-days 0`` (tidying up by hand), or an
Airflow run waiting between two tasks while its folder is past the retention,
removed a live run's folder: its next task failed on a missing ``run.json``, a
CLI run lost its delivery files while sending them. The folder of a run whose
lease on its period's lock is live stays; it goes once the run has ended.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from aanlevering.deliver.staging import purge_staging
from aanlevering.events.factory import open_event_store
from aanlevering.pipeline.lock import LockScope, acquire, release, run_folder_is_live
from aanlevering.settings import load_settings


def _folder(staging: Path, run: str) -> Path:
    folder = staging / "demo-hospital" / "ldtr" / "2026-03" / f"run-{run}"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text("{}")
    long_ago = time.time() - 10 * 86400
    os.utime(folder, (long_ago, long_ago))
    return folder


def test_the_folder_of_a_run_holding_its_period_is_kept_until_it_ends(tmp_path: Path) -> None:
    settings = load_settings({"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path)})
    running, ended = (
        _folder(settings.staging_dir, "running"),
        _folder(settings.staging_dir, "ended"),
    )
    scope = LockScope("demo-hospital", "ldtr", "2026-03")
    with open_event_store(settings.event_store_url) as store:
        acquire(store, scope, "running")  # an Airflow run between two tasks: a live lease

        first = purge_staging(
            settings, store, still_running=lambda f: run_folder_is_live(store, f), older_than_days=0
        )
        assert [p.version for p in first] == ["run-ended"]
        assert running.is_dir() and not ended.exists()

        release(store, scope, "running", "delivered")
        second = purge_staging(
            settings, store, still_running=lambda f: run_folder_is_live(store, f), older_than_days=0
        )
        assert [p.version for p in second] == ["run-running"] and not running.exists()
