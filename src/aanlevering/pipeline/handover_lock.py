"""``confirm-upload`` and ``abandon-handover`` hold the period's run lock while they act.

Why: both read the period's ledger, decide, append, and rewrite the version's
hospital report. A run of the same registration and period reads the ledger
too (its plan, its last step) and writes that report after them. Decision 0883
made the commands refuse when the period's stream moved between their read
and their append, but a run's own read was not covered: a hand-over abandoned
while the run's last step was saying "handed over" left the report (and the
run's last word) telling the hospital to upload and confirm a version the log
held as abandoned, and a confirmed one was rewritten as not delivered
(decision 0901). Like ``retract`` (0491), the commands now wait for a run of
the period (``--wait SECONDS``, else ``AANLEVERING_RUN_LOCK_WAIT``) and stop
with RunLocked, nothing recorded, when it does not end in time; a run waits
for them the same way. The refusal names what holds the period, since when,
the run's last step and how to wait longer (decision 0961): an Airflow run
holds its period between its tasks, for hours.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path

from aanlevering.actor import current_actor
from aanlevering.errors import ConfigError
from aanlevering.events.store import EventStore
from aanlevering.obligation.run_outcomes import HANDOVER_COMMAND_OUTCOMES
from aanlevering.pipeline.lock import (
    LockScope,
    RunLocked,
    acquire,
    current_holder,
    held_since,
    holder_named,
    lease_length,
    release,
)
from aanlevering.pipeline.stages import lock_wait_seconds
from aanlevering.pipeline.state import JsonStateFile, run_folder_named

#: A run's step as its ``run.json`` says it (a fixed word); anything else is not shown.
_STEP = re.compile(r"[a-z][a-z-]{0,39}")


@contextmanager
def period_held(
    store: EventStore,
    provider: str,
    registration: str,
    period: str,
    command: str,
    *,
    wait_seconds: float | None = None,
    staging_dir: Path | None = None,
) -> Iterator[None]:
    """Hold ``registration`` ``period``'s run lock for ``command`` (a hand-over command).

    Waits ``wait_seconds`` (the command's ``--wait``; default
    ``AANLEVERING_RUN_LOCK_WAIT``) for a run of the period, then RunLocked
    (exit 2, nothing recorded) saying what holds it (:func:`refusal`; the run's
    last step from its folder under ``staging_dir``). The release's outcome is
    the command's own (:data:`HANDOVER_COMMAND_OUTCOMES`), which the calendar
    does not read as a run's: a period blocked by validation stays blocked.
    """
    assert command in HANDOVER_COMMAND_OUTCOMES, command
    scope = LockScope(provider, registration, period)
    run_id = f"{command}-{uuid.uuid4()}"
    wait = lock_wait_seconds() if wait_seconds is None else wait_seconds
    try:
        acquire_for_command(store, scope, run_id, wait_seconds=wait)
    except RunLocked:
        raise RunLocked(refusal(store, scope, command, wait, staging_dir)) from None
    try:
        yield
    finally:
        release(store, scope, run_id, command)


def refusal(
    store: EventStore, scope: LockScope, command: str, waited: float, staging_dir: Path | None
) -> str:
    """Why ``command`` recorded nothing: what holds the period, since when, its state, what to do.

    Counts, ids, times and fixed words only: the run's step is shown only when
    it is one word, as the pipeline writes it.
    """
    what = f"{scope.registration} {scope.period}"
    holder = current_holder(store, scope)
    head = f"{command}: nothing recorded: {what} "
    wait_longer = (
        f"To wait for it, run the command again with --wait SECONDS (it records as soon as "
        f"the period is let go; the default is AANLEVERING_RUN_LOCK_WAIT, 30); waited "
        f"{waited:.0f} s"
    )
    if holder is None or not holder.run_id:
        return head + f"was held and has just been let go: run the command again. {wait_longer}"
    named = holder_named(holder.run_id)
    since = held_since(store, scope, holder.run_id)
    held = (
        f"holds it since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC, " if since else ""
    ) + f"lease until {holder.expires_at:%Y-%m-%d %H:%M} UTC"
    if named is not None:
        return (
            head + f"is held by {named}, {holder.run_id} ({held}); it holds the period only "
            f"while it records: run the command again in a moment. {wait_longer}"
        )
    step = _last_step(scope, holder.run_id, staging_dir)
    state = f"; its last step: {step}" if step else ""
    if holder.pid:
        how = (
            f"a run in one process (host {holder.host}, pid {holder.pid}), which holds it "
            "until it ends"
        )
    else:
        how = (
            "an Airflow run, which holds its period from its first task until its last task "
            "ends, between its tasks too (a retried task may keep it for hours)"
        )
    return (
        head + f"is being delivered by run {holder.run_id} ({held}{state}); it is {how}. "
        f"Try again when that run has ended (the Airflow UI shows it), "
        f"or after its lease expires if it died. {wait_longer}"
    )


def _last_step(scope: LockScope, run_id: str, staging_dir: Path | None) -> str:
    """The run's ``status`` in its run folder ("" when unknown, or not one fixed word)."""
    if staging_dir is None:
        return ""
    folder = run_folder_named(
        staging_dir, scope.provider_id, scope.registration, scope.period, run_id
    )
    try:
        step = JsonStateFile(folder).read().get("status")
    except (ConfigError, OSError):
        return ""
    return step if isinstance(step, str) and _STEP.fullmatch(step) else ""


def acquire_for_command(
    store: EventStore, scope: LockScope, run_id: str, *, wait_seconds: float | None = None
) -> None:
    """Take ``scope``'s run lock for a command that is no run: retract (0491), a register
    stop (0930), the hand-over commands (0901).

    Why one place: each must wait for a run of the period as long as a run waits for
    another (``AANLEVERING_RUN_LOCK_WAIT``, or the hand-over commands' ``--wait``), hold
    it with a run's lease and in this one process (no task hand-over), and name who
    holds it; three copies could drift. RunLocked when a run keeps the period longer.
    """
    acquire(
        store,
        scope,
        run_id,
        lease=lease_length(),
        wait_seconds=lock_wait_seconds() if wait_seconds is None else wait_seconds,
        actor=current_actor(),
        one_process=True,
    )
