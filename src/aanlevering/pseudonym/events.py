"""Facts of a pseudonymisation run: counts, key versions and batch ids, never identifiers.

Failures are reported per patient by keyed patient reference (``pr_...``),
type and field, so an engineer can find the record in the EHR without the
log holding who it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from aanlevering.events.model import DomainEvent


@dataclass(frozen=True)
class PseudonymFailure:
    """A type that could not be computed for one patient."""

    patient_ref: str
    type: str
    field: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class PseudonymisationCompleted(DomainEvent):
    """Pseudonyms were obtained for a run's patients."""

    event_type: ClassVar[str] = "pseudonym.PseudonymisationCompleted"

    registration: str
    period: str
    run_id: str
    ttp_mode: str
    profile: str
    patients: int
    type_counts: Mapping[str, int] = field(default_factory=dict)
    key_versions: Mapping[str, int] = field(default_factory=dict)
    ttp_key_versions: tuple[int, ...] = ()
    batch_ids: tuple[str, ...] = ()
    #: Patients per type that did not get it (each patient counted once per type).
    failures_by_type: Mapping[str, int] = field(default_factory=dict)
    failures: tuple[PseudonymFailure, ...] = ()
    patients_without_pseudonym: int = 0
    #: Per type, ``"<field>: <reason>"`` -> patients (reasons are constants, never values);
    #: empty in events written before the reasons were counted.
    failure_reasons: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class HospitalKeyInUse(DomainEvent):
    """A hospital-local key (patient references, resource ids) was first used with this log.

    Holds only a check value (an HMAC of a constant under the key), never the
    key: enough to tell that a machine holds another key than the one the log's
    patient references were made with.
    """

    event_type: ClassVar[str] = "pseudonym.HospitalKeyInUse"

    provider_id: str
    key_name: str
    check_value: str
