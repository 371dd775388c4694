"""Example events: the shapes stage packages copy, and fixtures for the event-log tests.

Real events live next to the stage that records them (``deliver/events.py``
and so on); these are namespaced ``examples.`` so they never clash with them.
They are test fixtures, so they live here and register when a test imports
them (they are not in ``EVENT_MODULES``: a fresh process sees them as
``UnknownEvent``, as it would any type it does not know).
:class:`ExampleDeliveryReceipted` is at schema version 2 to show upcasting:
version 1 called ``record_count`` ``records`` and had no ``pseudonym_types``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from aanlevering.events.model import DomainEvent
from aanlevering.events.registry import upcaster
from aanlevering.pseudonym_types import PseudonymType


@dataclass(frozen=True)
class ExampleDeliveryReceipted(DomainEvent):
    """The registry holder acknowledged a delivery (example of a fact with a history)."""

    event_type: ClassVar[str] = "examples.DeliveryReceipted"
    schema_version: ClassVar[int] = 2

    registration: str
    period: str
    receipt_id: str
    record_count: int
    pseudonym_types: tuple[PseudonymType, ...] = ()
    received_on: date | None = None


@upcaster("examples.DeliveryReceipted", from_version=1)
def _receipted_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    payload["record_count"] = payload.pop("records")
    payload.setdefault("pseudonym_types", [])
    return payload


@dataclass(frozen=True)
class ExampleOptOutRegistered(DomainEvent):
    """A patient objected to delivery; the patient appears only as a patient reference."""

    event_type: ClassVar[str] = "examples.OptOutRegistered"

    patient_ref: str
    registered_on: date
    registrations: frozenset[str] = frozenset()
