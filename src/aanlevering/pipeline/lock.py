"""One run per provider, registration and period at a time, across CLI, Airflow and retries.

Why: two runs of one period share a version number and race for the
receiver; with different content both would believe they delivered ``v1``.
The lock is a lease recorded in the event log (see
:mod:`aanlevering.pipeline.events`): a run takes it before its first stage,
renews it before each later stage (Airflow runs them in other processes,
hours apart when retried) and releases it when the run ends. A run that dies
leaves a lease that expires (a CLI run, one process, frees it at once when
that process is gone); until then a second run waits a bounded time and then
stops with :class:`RunLocked` (exit 2), naming the holder.

While a stage runs, a heartbeat renews the lease (:mod:`aanlevering.pipeline.heartbeat`,
decision 0477): a stage may outlast the lease. A run whose lease another run
took over meanwhile gets :class:`LeaseLost` at its next stage and before every
send attempt, and never takes the period back (:func:`renew`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from aanlevering.errors import AanleveringError, ConcurrencyConflict
from aanlevering.events.store import EventStore
from aanlevering.obligation.run_outcomes import (
    HANDOVER_COMMAND_OUTCOMES,
    REGISTER_STOP_OUTCOME,
    RETRACT_RUN_PREFIX,
)
from aanlevering.pipeline.events import (
    RunLockRefused,
    RunLockReleased,
    RunLockTaken,
    run_lock_stream,
)
from aanlevering.process_space import as_letters, boot_and_namespace
from aanlevering.settings import whole_number_setting

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=60)
LEASE_SETTING = "AANLEVERING_RUN_LOCK_LEASE_SECONDS"
#: Attempts of :func:`release` when a heartbeat renews the lease at the same moment.
RELEASE_ATTEMPTS = 5


class RunLocked(AanleveringError):
    """Another run holds this provider's registration and period."""

    exit_code = 2


class LeaseLost(RunLocked):
    """This run no longer holds its period (taken over, or the run ended): it must not go on."""


def lease_length() -> timedelta:
    """How long a lease lasts unless renewed (``AANLEVERING_RUN_LOCK_LEASE_SECONDS``, 3600)."""
    default = int(DEFAULT_LEASE.total_seconds())
    return timedelta(seconds=whole_number_setting(LEASE_SETTING, default, 1))


@dataclass(frozen=True)
class LockScope:
    """What one lock covers."""

    provider_id: str
    registration: str
    period: str

    @property
    def stream(self) -> str:
        """The event stream of this lock."""
        return run_lock_stream(self.provider_id, self.registration, self.period)


@dataclass(frozen=True)
class Holder:
    """The run that holds a lock, and until when."""

    run_id: str
    expires_at: datetime
    version: int
    host: str = ""
    pid: int = 0
    pid_started: float = 0.0

    def alive(self, now: datetime) -> bool:
        """Within its lease, and (for a one-process run on this host) its process still runs."""
        if self.expires_at <= now:
            return False
        if self.pid and self.host == this_host():
            return _process_runs(self.pid, self.pid_started)
        return True


def _process_runs(pid: int, started: float) -> bool:
    try:
        return bool(abs(psutil.Process(pid).create_time() - started) < 1.0)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _this_process() -> tuple[str, int, float]:
    pid = os.getpid()
    return this_host(), pid, psutil.Process(pid).create_time()


def this_host() -> str:
    """Where a pid this process looks up means what it meant to the process that wrote it.

    The hostname, and on Linux the kernel's boot and this process's pid
    namespace (as letters). Why not the hostname alone (decision 1012): two
    containers of one image often share a hostname, and a pid recorded in
    one is another process, or none, in the other; a live run there was taken
    for dead here and its period taken over. A lock written under another
    host, or by a version that wrote the hostname alone, is alive until its
    lease ends: the safe side.
    """
    space = _process_space()
    return f"{socket.gethostname()} [{space}]" if space else socket.gethostname()


def _process_space() -> str:
    ids = boot_and_namespace()
    if ids is None:  # not Linux, or no /proc: the hostname alone, as before
        return ""
    boot, namespace = ids
    return as_letters(f"{boot} {namespace}", 12)


def current_holder(store: EventStore, scope: LockScope) -> Holder | None:
    """The run holding the lock now (None when free), and the stream version seen."""
    records = store.read_stream(scope.stream)
    holder: Holder | None = None
    for record in records:
        event = record.to_event()
        if isinstance(event, RunLockTaken):
            holder = Holder(
                event.run_id,
                datetime.fromisoformat(event.expires_at),
                record.version,
                event.host,
                event.pid,
                event.pid_started,
            )
        elif isinstance(event, RunLockReleased) and holder and holder.run_id == event.run_id:
            holder = None
    version = records[-1].version if records else 0
    if holder is not None:
        return replace(holder, version=version)
    return Holder("", datetime.min.replace(tzinfo=UTC), version) if records else None


def held_since(store: EventStore, scope: LockScope, run_id: str) -> datetime | None:
    """When ``run_id`` took the lock it holds now (renewals of the same hold not counted).

    Why: an operator turned away by an Airflow run (it holds its period between
    its tasks, for hours) needs to know how long it has been going (decision 0961).
    """
    since: datetime | None = None
    holding = ""
    for record in store.read_stream(scope.stream):
        event = record.to_event()
        if isinstance(event, RunLockTaken):
            if event.run_id != holding:
                holding, since = event.run_id, record.recorded_at
        elif isinstance(event, RunLockReleased) and event.run_id == holding:
            holding, since = "", None
    return since if holding == run_id else None


def acquire(
    store: EventStore,
    scope: LockScope,
    run_id: str,
    *,
    lease: timedelta = DEFAULT_LEASE,
    wait_seconds: float = 0.0,
    actor: str = "",
    poll_seconds: float = 0.5,
    one_process: bool = False,
) -> None:
    """Take or renew the lock for ``run_id``; RunLocked after ``wait_seconds`` when taken.

    ``one_process``: this process is the whole run (the CLI), so when it dies
    the lock is free at once; otherwise (Airflow tasks) only the lease expires.
    """
    host, pid, pid_started = _this_process() if one_process else ("", 0, 0.0)
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    while True:
        now = datetime.now(UTC)
        seen = current_holder(store, scope)
        held_by_other = seen is not None and seen.run_id not in ("", run_id) and seen.alive(now)
        if not held_by_other:
            taken = RunLockTaken(
                provider_id=scope.provider_id,
                registration=scope.registration,
                period=scope.period,
                run_id=run_id,
                expires_at=(now + lease).isoformat(),
                actor=actor,
                host=host,
                pid=pid,
                pid_started=pid_started,
            )
            try:
                store.append(scope.stream, [taken], seen.version if seen else 0)
                return
            except ConcurrencyConflict:
                continue  # someone appended meanwhile: look again
        assert seen is not None
        if time.monotonic() >= deadline:
            store.append(
                scope.stream,
                [
                    RunLockRefused(
                        provider_id=scope.provider_id,
                        registration=scope.registration,
                        period=scope.period,
                        run_id=run_id,
                        held_by=seen.run_id,
                    )
                ],
                None,
            )
            raise RunLocked(refusal_message(scope, seen))
        time.sleep(poll_seconds)


#: Run-id prefixes of lock holders that are no run of the period (decisions 0491, 0901,
#: 0930), and what a refused run is told they are. A run's id is anything else.
NOT_A_RUN_HOLDERS: tuple[tuple[str, str], ...] = (
    (
        f"{REGISTER_STOP_OUTCOME}-",
        "a register stop (a run the register refused, recording the period's versions "
        "sent without a receipt as stopped; decision 0930)",
    ),
    (RETRACT_RUN_PREFIX, "a retraction (aanlevering retract)"),
    *(
        (f"{c}-", f"the hand-over command aanlevering {c}")
        for c in sorted(HANDOVER_COMMAND_OUTCOMES)
    ),
)


def holder_named(run_id: str) -> str | None:
    """What a lock holder that is no run is ("a register stop ..."); None for a run."""
    for prefix, named in NOT_A_RUN_HOLDERS:
        if run_id.startswith(prefix):
            return named
    return None


def refusal_message(scope: LockScope, seen: Holder) -> str:
    """Why a run may not take ``scope`` now: what holds it, until when, and what to do.

    Why: a register stop, a retraction or a hand-over command holds the period
    like a run, for seconds; naming it "run register-stop-..." sent operators
    looking for a delivery run that never was (decision 0960).
    """
    what = f"{scope.registration} {scope.period} (provider {scope.provider_id})"
    lease = f"lease until {seen.expires_at:%Y-%m-%d %H:%M} UTC"
    named = holder_named(seen.run_id)
    if named is None:
        return (
            f"{what} is being delivered by run {seen.run_id} ({lease}); this run stops "
            "without touching it. Try again when that run has ended, or after the lease "
            "expires if it died."
        )
    return (
        f"{what} is held by {named}, {seen.run_id} ({lease}); it is no delivery run and "
        "holds the period only while it records. This run stops without touching it: "
        "wait until it has let the period go and run it again (if it died, after the "
        "lease expires)."
    )


def renew(
    store: EventStore,
    scope: LockScope,
    run_id: str,
    *,
    lease: timedelta = DEFAULT_LEASE,
    actor: str = "",
    one_process: bool = False,
) -> datetime:
    """Extend ``run_id``'s lease from now; LeaseLost when the lock's latest holder is not it.

    Unlike :func:`acquire`, never takes a lock another run held since: a run
    whose lease ran out and was taken over (even if that run has ended since)
    must stop, not deliver beside or after it. A lease of this run that ran
    out with nobody taking it over is taken again (an Airflow task retried
    after an hour). Returns the new expiry.
    """
    host, pid, pid_started = _this_process() if one_process else ("", 0, 0.0)
    while True:
        seen = current_holder(store, scope)
        if seen is None or seen.run_id != run_id:
            raise LeaseLost(_lost_message(store, scope, run_id, seen))
        expires = datetime.now(UTC) + lease
        taken = RunLockTaken(
            provider_id=scope.provider_id,
            registration=scope.registration,
            period=scope.period,
            run_id=run_id,
            expires_at=expires.isoformat(),
            actor=actor,
            host=host,
            pid=pid,
            pid_started=pid_started,
        )
        try:
            store.append(scope.stream, [taken], seen.version)
            return expires
        except ConcurrencyConflict:
            continue  # someone appended meanwhile: look again


def ended_by(store: EventStore, scope: LockScope, run_id: str) -> bool:
    """Whether the lock's last fact is ``run_id`` releasing it (its run ended, not lost)."""
    records = store.read_stream(scope.stream)
    last = records[-1].to_event() if records else None
    return isinstance(last, RunLockReleased) and last.run_id == run_id


def _lost_message(store: EventStore, scope: LockScope, run_id: str, seen: Holder | None) -> str:
    what = f"{scope.registration} {scope.period} (provider {scope.provider_id})"
    if ended_by(store, scope, run_id):
        why = "it released the period (the run ended)"
    elif seen is not None and seen.run_id:
        why = (
            f"its lease ran out and run {seen.run_id} took the period over "
            f"(lease until {seen.expires_at:%Y-%m-%d %H:%M} UTC)"
        )
    elif seen is not None:
        why = "its lease ran out and another run took the period over and ended"
    else:
        why = "the event log holds no lock of this run"
    return (
        f"run {run_id} no longer holds {what}: {why}. This run stops without sending; "
        "look at the period's deliveries (aanlevering status) before running it again"
    )


def release(store: EventStore, scope: LockScope, run_id: str, outcome: str) -> None:
    """Give the lock up (only when ``run_id`` still holds it); safe to call twice.

    Retried when the stream changed meanwhile: the run's own heartbeat may
    renew the lease at the same moment.
    """
    for _ in range(RELEASE_ATTEMPTS):
        seen = current_holder(store, scope)
        if seen is None or seen.run_id != run_id:
            return
        try:
            store.append(
                scope.stream,
                [
                    RunLockReleased(
                        provider_id=scope.provider_id,
                        registration=scope.registration,
                        period=scope.period,
                        run_id=run_id,
                        outcome=outcome,
                    )
                ],
                seen.version,
            )
            return
        except ConcurrencyConflict:
            continue
    log.warning("run %s: lock of %s kept changing while releasing it", run_id, scope.stream)


def run_folder_is_live(store: EventStore, folder: Path) -> bool:
    """Whether the run of staging ``folder`` (``<provider>/<registration>/<period>/run-<id>``)
    holds its period's lock with a live lease (decision 0659).

    Why: a purge by hand (``--older-than-days 0``), or an Airflow run waiting
    between two tasks, must not take a live run's folder: its next task would
    fail on a missing state, a CLI run lose its files while sending them.
    """
    provider, registration, period = (
        folder.parent.parent.parent.name,
        folder.parent.parent.name,
        folder.parent.name,
    )
    holder = current_holder(store, LockScope(provider, registration, period))
    run = folder.name.removeprefix("run-")
    return holder is not None and holder.run_id == run and holder.alive(datetime.now(UTC))
