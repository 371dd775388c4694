"""Facts about opt-outs, their application, and which patients a delivery contained.

Patients appear only as patient references (``pr_...``, a keyed hash of the
normalised MRN made by :class:`~aanlevering.pseudonym.patient_ref.PatientRefHasher`), never
as an MRN, BSN or name.

Streams:

``optout-<patient ref>``                          OptOutRegistered, OptOutWithdrawn,
                                                  OptOutReinstated
``optouts-applied/<registration>``                OptOutsApplied (counts only)
``optout-ingests``                                 OptOutsIngested (snapshot time, counts only)
``delivery-contents/<registration>.<period>.v<n>`` DeliveryContentsRecorded

Event ids are uuid5 over the patient reference, the kind, the date and the
scope (opt-outs) or over registration, period and version (delivery
contents), so ingesting the same extract twice appends nothing.

:class:`DeliveryContentsRecorded` is appended by the delivery step, once per
delivered dataset version, with the references of every patient in it (in
parts of at most :data:`CONTENTS_PART_SIZE`; use
:func:`aanlevering.optout.deliveries.delivery_contents_events`). It is what
answers "which deliveries contained this patient" after a later opt-out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Literal

from aanlevering.events.model import DomainEvent

#: Namespace of the derived ids of opt-out events (a fixed, random uuid4).
ID_NAMESPACE = uuid.UUID("0c5a7a4e-2f4e-4f53-8f7e-5b2d3f9a61c1")
CONTENTS_PART_SIZE = 5000

OptOutSource = Literal["ehr-csv", "fhir-consent", "manual"]


def optout_stream(patient_ref: str) -> str:
    """The stream of every opt-out fact about one patient."""
    return f"optout-{patient_ref}"


#: The stream of every ingest of an opt-out export (when its snapshot was taken, how many).
INGESTS_STREAM = "optout-ingests"


def applied_stream(registration: str) -> str:
    """The stream of the opt-out counts of every run for ``registration``."""
    return f"optouts-applied/{registration}"


def contents_stream(registration: str, period: str, version: int) -> str:
    """The stream naming the patients in one delivered dataset version."""
    return f"delivery-contents/{registration}.{period}.v{version}"


def derived_id(*parts: object) -> uuid.UUID:
    """A stable event id over ``parts`` (the same fact always gets the same id)."""
    return uuid.uuid5(ID_NAMESPACE, "|".join("" if p is None else str(p) for p in parts))


def scope_key(all_registrations: bool, registrations: frozenset[str]) -> str:
    """The scope as text for ids and display: ``all`` or sorted ids joined by ``|``."""
    return "all" if all_registrations else "|".join(sorted(registrations))


@dataclass(frozen=True)
class OptOutRegistered(DomainEvent):
    """A patient objected to delivery to all registrations, or to the listed ones."""

    event_type: ClassVar[str] = "optout.OptOutRegistered"

    patient_ref: str
    registered_on: date
    all_registrations: bool
    registrations: frozenset[str] = frozenset()
    source: OptOutSource = "ehr-csv"


@dataclass(frozen=True)
class OptOutWithdrawn(DomainEvent):
    """The patient withdrew the opt-out registered on ``registered_on`` with this scope."""

    event_type: ClassVar[str] = "optout.OptOutWithdrawn"

    patient_ref: str
    registered_on: date
    all_registrations: bool
    withdrawn_on: date
    registrations: frozenset[str] = frozenset()
    source: OptOutSource = "ehr-csv"


@dataclass(frozen=True)
class OptOutReinstated(DomainEvent):
    """The source again states the opt-out in force, without the withdrawal recorded before.

    Appended when an ingest meets an opt-out without a withdrawal date whose
    latest fact in the log is a withdrawal (a withdrawal cleared in the EHR, a
    Consent ``active`` again): the withdrawal no longer counts (decision 0351).
    """

    event_type: ClassVar[str] = "optout.OptOutReinstated"

    patient_ref: str
    registered_on: date
    all_registrations: bool
    registrations: frozenset[str] = frozenset()
    source: OptOutSource = "ehr-csv"


@dataclass(frozen=True)
class OptOutsApplied(DomainEvent):
    """A run removed ``excluded_count`` of ``considered_count`` patients for a period; never who."""

    event_type: ClassVar[str] = "optout.OptOutsApplied"

    registration: str
    period: str
    excluded_count: int
    considered_count: int
    as_of: date
    rules: str


@dataclass(frozen=True)
class OptOutsIngested(DomainEvent):
    """An opt-out export taken at ``snapshot_taken_at`` was read into the log; never who.

    Why: a run must know how current the register is (decision 0475), and a
    later ingest whether its export is far smaller than this one (0476).
    ``snapshot_taken_at`` is an ISO datetime with offset: the export file's
    modification time, or what the data engineer stated. ``source`` is the
    kind of export (``ehr-csv``, ``fhir-consent``): shrinkage is judged per kind.
    """

    event_type: ClassVar[str] = "optout.OptOutsIngested"

    snapshot_taken_at: str
    source: OptOutSource
    entries: int
    patients: int
    shrink_confirmed: bool = False


@dataclass(frozen=True)
class DeliveryContentsRecorded(DomainEvent):
    """Part ``part`` of ``parts`` of the patients in one delivered dataset version."""

    event_type: ClassVar[str] = "optout.DeliveryContentsRecorded"

    registration: str
    period: str
    version: int
    part: int
    parts: int
    patient_refs: tuple[str, ...]


OPTOUT_EVENT_TYPES: frozenset[str] = frozenset(
    {OptOutRegistered.event_type, OptOutWithdrawn.event_type, OptOutReinstated.event_type}
)


def optout_key(
    fact: OptOutRegistered | OptOutWithdrawn | OptOutReinstated,
) -> tuple[str, date, str]:
    """Which opt-out a fact is about: patient, registration day and scope (as in its ids)."""
    scope = scope_key(fact.all_registrations, fact.registrations)
    return fact.patient_ref, fact.registered_on, scope
