"""Two different run ids never share a run folder or a lock holder name (decision 0404).

A run id comes from outside (Airflow's ``scheduled__2026-04-01T00:00:00+00:00``,
or any manual run id someone types); the folder name replaces what is not
path-safe. Before, ``a:b`` and ``a_b`` both became ``a_b``: the second run
worked in the first run's folder and counted as the holder of its lock. Now a
replaced id keeps its readable part and gets a short hash of the original.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aanlevering.catalogue import load_catalogue
from aanlevering.events.factory import open_event_store
from aanlevering.periods import Period
from aanlevering.pipeline.lock import LockScope, RunLocked, acquire, current_holder
from aanlevering.pipeline.run import RunRequest, start_state
from aanlevering.pipeline.state import (
    MemoryRunState,
    legacy_safe_name,
    run_folder_named,
    run_folder_path,
    safe_name,
)
from aanlevering.pseudonym.ttp.guards import check_run_id
from aanlevering.runs.folder import RunFolder
from aanlevering.runs.steps import release_failed_run
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
AIRFLOW_RUN = "scheduled__2026-04-01T00:00:00+00:00"
CRAFTED = "scheduled__2026-04-01T00_00_00_00_00"  # what AIRFLOW_RUN used to become
PAIRS = [
    ("a:b", "a_b"),
    ("a b", "a_b"),
    ("a/b", "a_b"),
    ("a:b", "a+b"),
    ("", "_"),
    (AIRFLOW_RUN, CRAFTED),
    ("manual__2026-04-02T08:00:00+00:00", "manual__2026-04-02T08:00:00 00:00"),
]
SEGMENT = re.compile(r"[A-Za-z0-9._@-]+")


@pytest.mark.parametrize(("one", "other"), PAIRS)
def test_ids_that_used_to_collide_get_different_folders(one: str, other: str) -> None:
    assert safe_name(one) != safe_name(other)
    staging = Path("/home/x/staging")
    first = run_folder_path(staging, "hospital-a", "dica-dsaa", "2026-Q1", one)
    second = run_folder_path(staging, "hospital-a", "dica-dsaa", "2026-Q1", other)
    assert first != second
    for path in (first, second):
        assert path.parent == staging / "hospital-a" / "dica-dsaa" / "2026-Q1"
        assert SEGMENT.fullmatch(path.name)


@given(st.text(max_size=40), st.text(max_size=40))
def test_different_ids_never_share_a_name(one: str, other: str) -> None:
    names = {safe_name(one), safe_name(other)}
    assert len(names) == (1 if one == other else 2)
    for name in names:
        assert SEGMENT.fullmatch(name) and name not in {".", ".."}


@pytest.mark.parametrize("run_id", ["3f2a9c1d0b4e", "hospital-a", "run_1.retry-2", CRAFTED])
def test_an_id_that_is_already_a_safe_name_keeps_its_name(run_id: str) -> None:
    # The CLI's run ids (12 hex digits) and the provider ids: folders and locks as before.
    assert safe_name(run_id) == run_id == legacy_safe_name(run_id)


def test_a_replaced_id_keeps_its_readable_part() -> None:
    name = safe_name(AIRFLOW_RUN)
    assert name.startswith(legacy_safe_name(AIRFLOW_RUN) + "@")
    assert len(name) == len(legacy_safe_name(AIRFLOW_RUN)) + 1 + 12
    check_run_id(name)  # it is sent to the TTP as the run id


def test_a_long_id_gets_a_name_the_ttp_and_the_file_system_take() -> None:
    long_ids = ["manual__" + "x:" * 200, "manual__" + "x:" * 200 + "y"]
    names = [safe_name(run_id) for run_id in long_ids]
    assert names[0] != names[1]
    for name in names:
        assert len(name) <= 113
        check_run_id(name)


def test_two_runs_with_such_ids_hold_different_locks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "AANLEVERING_HOME": str(tmp_path / "home"),
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
        "AANLEVERING_PROVIDER_ID": "hospital-a",
    }
    settings = load_settings(env)
    config = load_catalogue(REPO / "schemas" / "catalogue").get("dica-dsaa")
    period = Period.parse("2026-Q1")
    holders = []
    for run_id in ("a:b", "a_b"):
        request = RunRequest("dica-dsaa", tmp_path, period, today=date(2026, 4, 2), run_id=run_id)
        holders.append(
            str(start_state(MemoryRunState, config, settings, request).values()["run_id"])
        )
    assert holders[0] != holders[1]
    scope = LockScope("hospital-a", "dica-dsaa", period.label)
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store:
        acquire(store, scope, holders[0])
        with pytest.raises(RunLocked):
            acquire(store, scope, holders[1])  # not a renewal of the first run's lock
        seen = current_holder(store, scope)
    assert seen is not None and seen.run_id == holders[0]


def test_a_failed_run_releases_no_lock_of_a_run_whose_id_once_named_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's failure callback frees only its own run's lock (and its pre-0404 name)."""
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(REPO / "schemas" / "catalogue"))
    monkeypatch.setenv("AANLEVERING_PROVIDER_ID", "hospital-a")
    settings = load_settings()
    scope = LockScope("hospital-a", "dica-dsaa", "2026-Q1")
    with open_event_store(settings.event_store_url) as store:
        acquire(store, scope, safe_name(CRAFTED))  # a run with the crafted id holds it
    release_failed_run("dica-dsaa", "2026-Q1", AIRFLOW_RUN)
    with open_event_store(settings.event_store_url) as store:
        seen = current_holder(store, scope)
        assert seen is not None and seen.run_id == CRAFTED  # still the crafted run's


def test_a_run_started_before_0404_still_has_its_lock_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(REPO / "schemas" / "catalogue"))
    monkeypatch.setenv("AANLEVERING_PROVIDER_ID", "hospital-a")
    settings = load_settings()
    old_name = legacy_safe_name(AIRFLOW_RUN)
    folder = run_folder_named(settings.staging_dir, "hospital-a", "dica-dsaa", "2026-Q1", old_name)
    RunFolder(folder).update(registration="dica-dsaa", period="2026-Q1", run_id=old_name)
    scope = LockScope("hospital-a", "dica-dsaa", "2026-Q1")
    with open_event_store(settings.event_store_url) as store:
        acquire(store, scope, old_name)
    release_failed_run("dica-dsaa", "2026-Q1", AIRFLOW_RUN)
    with open_event_store(settings.event_store_url) as store:
        acquire(store, scope, "next-run")  # free: taken at once, not RunLocked
        seen = current_holder(store, scope)
    assert seen is not None and seen.run_id == "next-run"
