"""How the last run of each registration and period ended, folded from the run-lock events.

Why: the calendar colours a period *blocked* when its last run was stopped by
validation (new data is needed before anything can be delivered), which the
delivery ledger cannot say: a blocked run stages nothing. Every run releases
its lock with an outcome (``delivered``, ``validation-blocked``, ``failed``,
...), so the latest release per period is that answer. The events are read by
type name and payload only (this package sits below the pipeline).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from aanlevering.events.model import RecordedEvent

RELEASED = "pipeline.RunLockReleased"

#: Outcomes that mean "this period cannot be delivered from the data as it is".
BLOCKING_OUTCOMES = frozenset({"validation-blocked"})
#: Outcomes of the hand-over commands, which hold the period's lock but are no run of it
#: (decision 0901): a period blocked by validation stays blocked after a confirm-upload.
HANDOVER_COMMAND_OUTCOMES = frozenset({"confirm-upload", "abandon-handover"})
#: A refused run stopping versions sent without a receipt holds the lock (decision 0930).
REGISTER_STOP_OUTCOME = "register-stop"
#: A retraction's outcomes (decision 0931): it withdraws a delivered version; whether the
#: data as it is can be delivered next (a validation block) is unchanged by it.
RETRACT_OUTCOMES = frozenset({"retracted", "retract-failed"})
#: Lock holders that are no run of the period: their release leaves the last run's outcome.
NOT_A_RUN = HANDOVER_COMMAND_OUTCOMES | RETRACT_OUTCOMES | {REGISTER_STOP_OUTCOME}
#: Run ids of a retraction's lock (0491); its failures were released as "failed" before 0931.
RETRACT_RUN_PREFIX = "retract-"


@dataclass
class RunOutcomes:
    """The last run outcome per (registration, period); feed it events in log order."""

    last: dict[tuple[str, str], str] = field(default_factory=dict)

    def apply(self, record: RecordedEvent) -> None:
        """Fold one event (events of other kinds are ignored)."""
        if record.event_type != RELEASED:
            return
        payload = record.payload
        if payload.get("outcome") in NOT_A_RUN:
            return
        if str(payload.get("run_id", "")).startswith(RETRACT_RUN_PREFIX):
            return
        self.last[(str(payload["registration"]), str(payload["period"]))] = str(payload["outcome"])

    def outcome(self, registration: str, period: str) -> str | None:
        """How the last run of this period ended; None when none ran."""
        return self.last.get((registration, period))


def project_run_outcomes(records: Iterable[RecordedEvent]) -> RunOutcomes:
    """Fold the whole log (in global order) into :class:`RunOutcomes`."""
    view = RunOutcomes()
    for record in records:
        view.apply(record)
    return view
