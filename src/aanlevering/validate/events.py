"""Facts the validation step records: one ``ValidationCompleted`` per validation run.

Stream: ``validation-<registration>-<period>`` (like the delivery step's
``delivery-<registration>-<period>``), so every validation of one delivery
period can be read back in order, and a rerun appends a new fact rather than
changing an old one. The event holds counts, rule ids and where the reports
are, never record contents (see docs/decisions/0076-validation-event.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from aanlevering.events.model import DomainEvent


def validation_stream(registration: str, period: str) -> str:
    """Stream of every validation of one registration and period."""
    return f"validation-{registration}-{period}"


@dataclass(frozen=True, kw_only=True)
class ValidationCompleted(DomainEvent):
    """An extract was validated against the registration's data dictionary.

    ``failed_rules`` lists the rule ids (``operatie.geslacht.in_set``) that
    failed; ``report_sha256`` is the hash of ``validation-report.json`` so an
    auditor can tell the report on disk is the one this run wrote.
    """

    event_type: ClassVar[str] = "validate.ValidationCompleted"

    registration: str
    period: str
    dictionary_id: str
    dictionary_version: str
    provider_type: str
    block_on: str
    passed: bool
    blocked: bool
    checks: int
    failed_errors: int
    failed_warnings: int
    rows: Mapping[str, int] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    failed_rules: tuple[str, ...] = ()
    suites: Mapping[str, str] = field(default_factory=dict)
    report_dir: str = ""
    report_sha256: str = ""
