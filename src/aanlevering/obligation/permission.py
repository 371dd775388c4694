"""May this hospital deliver to a registration on a given day? The law, as one function.

- Before any decision: current practice, per the registration's config
  (``before_inclusion: deliver`` keeps delivering, ``wait`` does not).
- Included and within the term: yes.
- After a negative decision: no, from its effective date (immediately); also
  while an objection runs (the hospital keeps recording, but does not deliver).
- After the term ended or the inclusion was withdrawn: no, unless renewed.

The pipeline calls :func:`check_may_deliver` before it extracts anything, so a
refused run stops early with :class:`NoObligation` (exit code 3) and a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.errors import NoObligation
from aanlevering.obligation.status import RegisterState, RegistrationStatus
from aanlevering.periods import Period


@dataclass(frozen=True)
class Decision:
    """Whether delivery is allowed, and the reason to show an engineer or auditor."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def may_deliver(
    config: RegistrationConfig, status: RegistrationStatus | None, on: date
) -> Decision:
    """Whether delivering to ``config``'s registration is allowed on ``on``, and why."""
    change = status.change_on(on) if status is not None else None
    if change is None:
        if config.before_inclusion == "deliver":
            return Decision(
                True,
                "no register decision yet; current practice continues: this hospital "
                "already delivered and keeps delivering (before_inclusion: deliver)",
            )
        return Decision(
            False,
            "no register decision yet; current practice: wait for inclusion "
            "(before_inclusion: wait)",
        )
    if change.state is RegisterState.INCLUDED:
        term = f" until {change.until}" if change.until else ""
        return Decision(True, f"included in the register since {change.since}{term}")
    if change.state is RegisterState.REJECTED:
        return Decision(
            False,
            f"negative register decision ({change.source}, decided {change.decided_on}, "
            f"effective {change.since}): no legal basis, delivery stopped",
        )
    if change.state is RegisterState.IN_OBJECTION:
        return Decision(
            False,
            f"objection against the negative decision filed on {change.since}: keep "
            "recording in the EHR, do not deliver until it is upheld",
        )
    return Decision(
        False, f"inclusion ended on {change.since} ({change.source}) and was not renewed"
    )


def judged_days(run_day: date, now: date) -> tuple[date, ...]:
    """The days a run asks the register for: its own day, and the real day when that is later.

    Why one function: a run refused by the register stops the period's versions
    sent without a receipt (decisions 0791, 0930). That stop must ask the
    register exactly what the run asked (decision 0960); asked for the real day
    only, it kept a version a run with an earlier day (a backfill-like run) was
    refused for, or stopped one its check let pass. The real day counts too: the
    decision in force when the check runs (decision 0640).
    """
    return (run_day, now) if now > run_day else (run_day,)


def register_refusal(
    config: RegistrationConfig, status: RegistrationStatus | None, run_day: date, now: date
) -> Decision | None:
    """The register's refusal of a run of ``run_day`` checked on ``now``; None when it allows.

    The first refusing day of :func:`judged_days`, as :func:`check_may_deliver` raises it.
    """
    for day in judged_days(run_day, now):
        decision = may_deliver(config, status, day)
        if not decision.allowed:
            return decision
    return None


def check_may_deliver(
    config: RegistrationConfig,
    status: RegistrationStatus | None,
    on: date,
    period: Period | None = None,
    *,
    require_closed: bool = True,
) -> Decision:
    """Refuse a delivery run that the register (or the calendar) does not allow.

    Raises :class:`NoObligation` naming the registration, the period and the
    reason: not allowed on ``on``, a period before the registration's start,
    or (with ``require_closed``) a period that has not closed yet.
    """
    where = f"registration {config.id}" + (f", period {period.label}" if period else "")
    decision = may_deliver(config, status, on)
    if not decision.allowed:
        raise NoObligation(f"{where}: may not deliver on {on}: {decision.reason}")
    if period is not None and period.end <= config.start:
        raise NoObligation(
            f"{where}: the period ends before the registration's start {config.start}"
        )
    if period is not None and require_closed and period.end > on:
        raise NoObligation(
            f"{where}: the period has not closed yet (it closes on {period.end}); "
            "a period is delivered after it closes"
        )
    return decision
