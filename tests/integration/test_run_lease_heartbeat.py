"""The run lock's lease is renewed while a stage runs, and a run that lost it stops (decision 0477).

A run in one real process runs a stage longer than a short lease, through the
production ``execute_stage``; this test's process is the second run. Real
SQLite files and a real PostgreSQL (``store_url``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from aanlevering.events import open_event_store
from aanlevering.pipeline.events import RunLockReleased, RunLockTaken
from aanlevering.pipeline.lock import LockScope, RunLocked, acquire, current_holder, release

LEASE_SECONDS = 2
REPO = Path(__file__).resolve().parents[2]
SCOPE = LockScope("demo-hospital", "dica-dsaa", "2026-Q2")


def _run_in_child(url: str, home: str, stage_seconds: float, results: Any) -> None:
    """A run: takes the period, runs a long stage, then a stage that would send."""
    from datetime import date

    from aanlevering.catalogue import load_catalogue
    from aanlevering.periods import Period
    from aanlevering.pipeline import stages
    from aanlevering.pipeline.lock import lease_length
    from aanlevering.pipeline.run import Ports
    from aanlevering.pipeline.state import MemoryRunState
    from aanlevering.settings import load_settings

    settings = load_settings(
        {
            "AANLEVERING_DEMO_MODE": "yes",
            "AANLEVERING_HOME": home,
            "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
            "AANLEVERING_EVENT_STORE": url,
        }
    )
    config = load_catalogue(settings.catalogue_dir).get("dica-dsaa")
    with open_event_store(url) as store:
        state = MemoryRunState(Path(home) / "run-a")
        state.update(
            **stages.initial_values(
                registration_id="dica-dsaa",
                period=Period.parse("2026-Q2"),
                run_id="run-a",
                today=date(2026, 11, 1),
                input_path=Path(home),
                outbox=None,
                allow_open_period=False,
            )
        )
        ports = Ports(store, None, None)  # type: ignore[arg-type]
        ctx = stages.RunContext.from_values(config, settings, ports, state.values())
        acquire(store, ctx.lock_scope, "run-a", lease=lease_length())  # as check_obligation does
        results.put(("taken", os.getpid()))

        def long_stage(ctx: stages.RunContext, state: Any) -> dict[str, Any]:
            results.put(("stage-started", ""))
            time.sleep(stage_seconds)  # a FHIR export of millions, a slow TTP
            return {}

        def send(ctx: stages.RunContext, state: Any) -> dict[str, Any]:
            results.put(("sent", ""))
            return {}

        stages.execute_stage(stages.Stage("extract", long_stage), ctx, state)
        results.put(("stage-done", ""))
        try:
            stages.execute_stage(stages.Stage("deliver", send), ctx, state)
        except RunLocked as refused:
            results.put(("refused", f"{type(refused).__name__}: {refused}"))


@pytest.fixture
def child_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AANLEVERING_RUN_LOCK_LEASE_SECONDS", str(LEASE_SECONDS))


def _start(store_url: str, tmp_path: Path, stage_seconds: float) -> tuple[Any, Any, int]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(
        target=_run_in_child, args=(store_url, str(tmp_path / "home"), stage_seconds, results)
    )
    process.start()
    kind, pid = results.get(timeout=120)
    assert kind == "taken"
    assert results.get(timeout=120) == ("stage-started", "")
    return process, results, int(pid)


def _stop(process: Any) -> None:
    process.join(timeout=60)
    if process.is_alive():
        process.kill()
        process.join()


def test_a_stage_longer_than_the_lease_keeps_the_period_and_lets_go_when_the_run_ends(
    store_url: str, tmp_path: Path, child_env: None
) -> None:
    process, results, _ = _start(store_url, tmp_path, stage_seconds=3 * LEASE_SECONDS)
    refusals = 0
    try:
        with open_event_store(store_url) as store:
            deadline = time.monotonic() + 3 * LEASE_SECONDS + 30
            while time.monotonic() < deadline and results.empty():
                with pytest.raises(RunLocked, match="being delivered by run run-a"):
                    acquire(store, SCOPE, "run-b", wait_seconds=0)
                refusals += 1
                time.sleep(0.25)
            assert results.get(timeout=60) == ("stage-done", "")
            assert results.get(timeout=60) == ("sent", "")
            _stop(process)
            assert process.exitcode == 0
            # The run's process is gone without releasing (an Airflow task between
            # stages): no heartbeat renews the lease any more, so it expires.
            acquire(store, SCOPE, "run-b", wait_seconds=3 * LEASE_SECONDS, poll_seconds=0.1)
            holder = current_holder(store, SCOPE)
            taken = [
                r.to_event()
                for r in store.read_stream(SCOPE.stream)
                if r.event_type.endswith("Taken")
            ]
    finally:
        _stop(process)
    assert refusals >= 10  # turned away all through the stage, well past the 2-second lease
    assert holder is not None and holder.run_id == "run-b"
    renewals = [e for e in taken if isinstance(e, RunLockTaken) and e.run_id == "run-a"]
    assert len(renewals) >= 5  # taken, renewed before each stage and by the heartbeat


def test_a_run_that_dies_mid_stage_stops_renewing(
    store_url: str, tmp_path: Path, child_env: None
) -> None:
    process, _, pid = _start(store_url, tmp_path, stage_seconds=60)
    try:
        time.sleep(LEASE_SECONDS)  # the stage is under way, the heartbeat renewing
        os.kill(pid, signal.SIGKILL)
        _stop(process)
        with open_event_store(store_url) as store:
            started = time.monotonic()
            acquire(store, SCOPE, "run-b", wait_seconds=4 * LEASE_SECONDS, poll_seconds=0.1)
            assert time.monotonic() - started <= 2 * LEASE_SECONDS + 1
    finally:
        _stop(process)


def test_a_run_whose_period_was_taken_over_stops_before_it_sends(
    store_url: str, tmp_path: Path, child_env: None
) -> None:
    process, results, pid = _start(store_url, tmp_path, stage_seconds=3 * LEASE_SECONDS)
    try:
        os.kill(pid, signal.SIGSTOP)  # the run stalls (a paused VM, swapping) past its lease
        with open_event_store(store_url) as store:
            acquire(store, SCOPE, "run-b", wait_seconds=4 * LEASE_SECONDS, poll_seconds=0.1)
            release(store, SCOPE, "run-b", "delivered")  # the second run delivered and ended
            os.kill(pid, signal.SIGCONT)
            outcomes = [results.get(timeout=60), results.get(timeout=60)]
            _stop(process)
            last = store.read_stream(SCOPE.stream)[-1].to_event()
    finally:
        if process.is_alive():
            os.kill(pid, signal.SIGCONT)
        _stop(process)
    assert outcomes[0] == ("stage-done", "")
    kind, message = outcomes[1]
    assert kind == "refused", outcomes  # never "sent"
    assert message.startswith("LeaseLost: run run-a no longer holds dica-dsaa 2026-Q2")
    assert "stops without sending" in message
    # The period was not taken back: the other run's release is the last word.
    assert isinstance(last, RunLockReleased) and last.run_id == "run-b"
