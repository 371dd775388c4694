"""Helpers for the register tests: decisions in a line, projected without a store."""

from __future__ import annotations

from datetime import date
from typing import Any

from aanlevering.events.codec import encode_payload
from aanlevering.events.model import RecordedEvent
from aanlevering.obligation.decisions import RegisterDecision, to_event
from aanlevering.obligation.events import stream_name
from aanlevering.obligation.status import RegistrationStatus, project_statuses


def status_of(*decisions: RegisterDecision) -> RegistrationStatus:
    """Project decisions as if appended in this order (positions 1, 2, ...)."""
    records = []
    for position, decision in enumerate(decisions, start=1):
        event = to_event(decision)
        records.append(
            RecordedEvent(
                position=position,
                event_id=event.event_id,
                stream=stream_name(decision.registration),
                version=position,
                event_type=event.event_type,
                schema_version=event.schema_version,
                occurred_at=event.occurred_at,
                recorded_at=event.occurred_at,
                payload=encode_payload(event),
                metadata={},
            )
        )
    registration = decisions[0].registration if decisions else "nkr-borst"
    return project_statuses(records).get(registration, RegistrationStatus(registration))


def decision(
    kind: str, decided_on: date, registration: str = "nkr-borst", **more: Any
) -> RegisterDecision:
    return RegisterDecision(registration=registration, kind=kind, decided_on=decided_on, **more)  # type: ignore[arg-type]
