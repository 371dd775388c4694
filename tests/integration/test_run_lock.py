"""One run per provider, registration and period: the lease in the event log, on both stores.

Real SQLite files and a real PostgreSQL; the race is between real processes.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier as BarrierType
from pathlib import Path
from typing import Any

import pytest

from aanlevering.events import EventStore, open_event_store
from aanlevering.pipeline.events import RunLockRefused, RunLockReleased, RunLockTaken
from aanlevering.pipeline.lock import (
    LockScope,
    RunLocked,
    acquire,
    current_holder,
    release,
    this_host,
)

SCOPE = LockScope("hospital-a", "dica-dsaa", "2026-Q1")
SRC = Path(__file__).resolve().parents[2] / "src"


def _events(store: EventStore) -> list[Any]:
    return [r.to_event() for r in store.read_stream(SCOPE.stream)]


def test_a_second_run_is_turned_away_naming_the_first_and_the_log_says_so(
    store: EventStore,
) -> None:
    acquire(store, SCOPE, "run-one", actor="user:test")
    acquire(store, SCOPE, "run-one")  # the same run renews its lease
    with pytest.raises(RunLocked, match="being delivered by run run-one"):
        acquire(store, SCOPE, "run-two", wait_seconds=0.2, poll_seconds=0.05)
    holder = current_holder(store, SCOPE)
    assert holder is not None and holder.run_id == "run-one"
    refused = [e for e in _events(store) if isinstance(e, RunLockRefused)]
    assert [(e.run_id, e.held_by) for e in refused] == [("run-two", "run-one")]
    # Another provider, registration or period is not held.
    acquire(store, LockScope("hospital-b", "dica-dsaa", "2026-Q1"), "run-three")
    acquire(store, LockScope("hospital-a", "dica-dsaa", "2026-Q2"), "run-four")


def test_released_lock_is_free_and_release_by_another_run_changes_nothing(
    store: EventStore,
) -> None:
    acquire(store, SCOPE, "run-one")
    release(store, SCOPE, "run-two", "failed")  # not the holder: ignored
    holder = current_holder(store, SCOPE)
    assert holder is not None and holder.run_id == "run-one"
    release(store, SCOPE, "run-one", "delivered")
    release(store, SCOPE, "run-one", "delivered")  # twice is fine
    acquire(store, SCOPE, "run-two")
    released = [e for e in _events(store) if isinstance(e, RunLockReleased)]
    assert [(e.run_id, e.outcome) for e in released] == [("run-one", "delivered")]


def test_an_expired_lease_of_a_dead_run_is_taken_over(store: EventStore) -> None:
    acquire(store, SCOPE, "dead-run", lease=timedelta(0))  # expired the moment it is taken
    acquire(store, SCOPE, "new-run")
    taken = [e for e in _events(store) if isinstance(e, RunLockTaken)]
    assert [e.run_id for e in taken] == ["dead-run", "new-run"]
    assert datetime.fromisoformat(taken[-1].expires_at) > datetime.now(UTC)
    # The dead run, coming back, cannot renew: its period was taken over.
    with pytest.raises(RunLocked, match="new-run"):
        acquire(store, SCOPE, "dead-run")


def test_a_waiting_run_gets_the_lock_when_the_first_releases(store: EventStore) -> None:
    acquire(store, SCOPE, "first", lease=timedelta(milliseconds=300))
    started = datetime.now(UTC)
    acquire(store, SCOPE, "second", wait_seconds=5, poll_seconds=0.05)
    assert datetime.now(UTC) - started < timedelta(seconds=5)
    holder = current_holder(store, SCOPE)
    assert holder is not None and holder.run_id == "second"


def _racer(url: str, run_id: str, barrier: BarrierType, results: Any) -> None:
    with open_event_store(url) as store:
        barrier.wait(timeout=60)
        try:
            acquire(store, SCOPE, run_id, poll_seconds=0.01)
            results.put((run_id, "won"))
        except RunLocked:
            results.put((run_id, "refused"))


def test_racing_processes_exactly_one_gets_the_period(store_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    racers = 4
    barrier = context.Barrier(racers)
    results = context.Queue()
    processes = [
        context.Process(target=_racer, args=(store_url, f"racer-{i}", barrier, results))
        for i in range(racers)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = dict(results.get(timeout=120) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    assert sorted(outcomes.values()) == ["refused"] * (racers - 1) + ["won"]
    winner = next(run for run, outcome in outcomes.items() if outcome == "won")
    with open_event_store(store_url) as store:
        holder = current_holder(store, SCOPE)
    assert holder is not None and holder.run_id == winner


def _take_and_die(url: str) -> None:
    with open_event_store(url) as store:
        acquire(store, SCOPE, "cli-run", one_process=True)
    # the process ends here without releasing, as a killed CLI run would


def test_a_one_process_run_that_died_frees_the_period_at_once(store_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=_take_and_die, args=(store_url,))
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 0
    with open_event_store(store_url) as store:
        holder = current_holder(store, SCOPE)
        assert holder is not None and holder.run_id == "cli-run" and holder.pid
        assert not holder.alive(datetime.now(UTC))
        acquire(store, SCOPE, "next-run")  # no waiting for the hour-long lease
        # A live one-process holder (this test's own process) is respected.
        acquire(store, LockScope("h", "r", "2026"), "alive-run", one_process=True)
        with pytest.raises(RunLocked, match="alive-run"):
            acquire(store, LockScope("h", "r", "2026"), "other-run")


#: Takes SCOPE_ELSEWHERE for a one-process run, says so, and lives until its stdin closes.
_RUN_IN_ANOTHER_PID_NAMESPACE = """
import sys
from aanlevering.events import open_event_store
from aanlevering.pipeline.lock import LockScope, acquire
with open_event_store(sys.argv[1]) as store:
    acquire(store, LockScope("h", "r", "2026-Q2"), "container-run", one_process=True)
print("taken", flush=True)
sys.stdin.read()
"""


def test_a_live_run_in_another_pid_namespace_of_the_same_hostname_is_respected(
    store_url: str,
) -> None:
    """A container of the same image: same hostname, its pids mean other processes here.

    The run there is pid 1 of its namespace; here pid 1 is init, started long
    before: judged by hostname and pid alone it was dead and its period was
    taken over while it ran (decision 1012).
    """
    scope = LockScope("h", "r", "2026-Q2")
    elsewhere = subprocess.Popen(
        [
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            sys.executable,
            "-c",
            _RUN_IN_ANOTHER_PID_NAMESPACE,
            store_url,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    try:
        assert elsewhere.stdout is not None
        assert elsewhere.stdout.readline() == b"taken\n"
        with open_event_store(store_url) as store:
            holder = current_holder(store, scope)
            assert holder is not None and holder.run_id == "container-run"
            assert holder.pid == 1  # here: init
            with pytest.raises(RunLocked, match="container-run"):
                acquire(store, scope, "host-run")
            assert holder.alive(datetime.now(UTC))
            assert holder.host.startswith(socket.gethostname() + " [")
            assert holder.host != this_host()
    finally:
        elsewhere.kill()
        elsewhere.wait(timeout=30)


def test_a_run_of_this_process_space_is_judged_by_its_pid(store_url: str) -> None:
    """The same hostname, boot and pid namespace: a pid that runs no more frees the period."""
    with open_event_store(store_url) as store:
        scope = LockScope("h", "r", "2026-Q3")
        acquire(store, scope, "this-space-run", one_process=True)
        holder = current_holder(store, scope)
        assert holder is not None and holder.host == this_host()
        dead = replace(holder, pid_started=holder.pid_started - 3600.0)
        assert not dead.alive(datetime.now(UTC))
        old_format = replace(dead, host=socket.gethostname())
        assert old_format.alive(datetime.now(UTC))  # written by hostname alone: lease only
