"""Leftover staging folders (which may hold identifiers) are removed after their retention."""

from __future__ import annotations

import os
import time
from pathlib import Path

from aanlevering.deliver.staging import purge_staging, retention_days
from aanlevering.events.factory import open_event_store
from aanlevering.pipeline.lock import run_folder_is_live
from aanlevering.settings import load_settings


def test_only_folders_past_retention_are_purged_and_recorded(tmp_path: Path) -> None:
    settings = load_settings({"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path)})
    old = settings.staging_dir / "ldtr" / "2026-03" / "v1"
    fresh = settings.staging_dir / "ldtr" / "2026-04" / "v1"
    for folder in (old, fresh):
        folder.mkdir(parents=True)
        (folder / "identity.arrow").write_bytes(b"x")
    ten_days_ago = time.time() - 10 * 86400
    os.utime(old, (ten_days_ago, ten_days_ago))
    with open_event_store(settings.event_store_url) as store:
        purged = purge_staging(
            settings, store, still_running=lambda f: run_folder_is_live(store, f), older_than_days=7
        )
        events = [r.event_type for r in store.read_all()]
    assert [(p.registration, p.period, p.files_removed) for p in purged] == [("ldtr", "2026-03", 1)]
    assert not old.exists() and fresh.exists()
    assert events == ["deliver.StagingPurged"]


def test_retention_comes_from_the_environment() -> None:
    assert retention_days({}) == 7
    assert retention_days({"AANLEVERING_STAGING_RETENTION_DAYS": "0.5"}) == 0.5


def test_a_purged_run_folder_is_recorded_with_its_provider(tmp_path: Path) -> None:
    settings = load_settings({"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path)})
    runs = [
        settings.staging_dir / provider / "ldtr" / "2026-03" / "run-abc"
        for provider in ("hospital-a", "hospital-b")
    ]
    ten_days_ago = time.time() - 10 * 86400
    for folder in runs:
        folder.mkdir(parents=True)
        (folder / "run.json").write_text("{}")
        os.utime(folder, (ten_days_ago, ten_days_ago))
    with open_event_store(settings.event_store_url) as store:
        purge_staging(
            settings, store, still_running=lambda f: run_folder_is_live(store, f), older_than_days=7
        )
        keys = [r.to_event().idempotency_key for r in store.read_all()]  # type: ignore[attr-defined]
    assert keys == ["hospital-a.ldtr.2026-03.run-abc", "hospital-b.ldtr.2026-03.run-abc"]
