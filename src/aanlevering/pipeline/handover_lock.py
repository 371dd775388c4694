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
the period (``AANLEVERING_RUN_LOCK_WAIT``) and stop with RunLocked, nothing
recorded, when it does not end in time; a run waits for them the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from aanlevering.actor import current_actor
from aanlevering.events.store import EventStore
from aanlevering.obligation.run_outcomes import HANDOVER_COMMAND_OUTCOMES
from aanlevering.pipeline.lock import LockScope, RunLocked, acquire, lease_length, release
from aanlevering.pipeline.stages import lock_wait_seconds


@contextmanager
def period_held(
    store: EventStore, provider: str, registration: str, period: str, command: str
) -> Iterator[None]:
    """Hold ``registration`` ``period``'s run lock for ``command`` (a hand-over command).

    RunLocked (exit 2, nothing recorded) when a run of the period holds it
    longer than ``AANLEVERING_RUN_LOCK_WAIT``. The release's outcome is the
    command's own (:data:`HANDOVER_COMMAND_OUTCOMES`), which the calendar does
    not read as a run's: a period blocked by validation stays blocked.
    """
    assert command in HANDOVER_COMMAND_OUTCOMES, command
    scope = LockScope(provider, registration, period)
    run_id = f"{command}-{uuid.uuid4()}"
    try:
        acquire_for_command(store, scope, run_id)
    except RunLocked as locked:
        raise RunLocked(
            f"{command}: a run of {registration} {period} is going; nothing recorded: {locked}"
        ) from None
    try:
        yield
    finally:
        release(store, scope, run_id, command)


def acquire_for_command(store: EventStore, scope: LockScope, run_id: str) -> None:
    """Take ``scope``'s run lock for a command that is no run: retract (0491), a register
    stop (0930), the hand-over commands (0901).

    Why one place: each must wait for a run of the period as long as a run waits for
    another (``AANLEVERING_RUN_LOCK_WAIT``), hold it with a run's lease and in this one
    process (no task hand-over), and name who holds it; three copies could drift.
    RunLocked when a run keeps the period longer.
    """
    acquire(
        store,
        scope,
        run_id,
        lease=lease_length(),
        wait_seconds=lock_wait_seconds(),
        actor=current_actor(),
        one_process=True,
    )
