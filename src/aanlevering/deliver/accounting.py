"""Every record of a run accounted for: outside the period, read, excluded, dropped, delivered.

A run that silently loses records looks like success; these numbers make
every loss visible (``RunResult``, the ``DeliveryStaged`` event and so the
ledger, ``aanlevering status``) and feed the thresholds that block a run:
more patients without a pseudonym type than
``validation.max_unpseudonymised_share`` allows, or zero records delivered
from an extract that had some. Counts and fixed reason texts only, never
values or who.

The totals add up (decision 0466): ``records_in_source`` = ``duplicates``
+ ``entered_in_error`` (FHIR sources, per dataset; decision 0692) +
``outside_before`` + ``outside_after`` + ``orphans`` + ``records_read`` (the
records in the period), and ``records_read`` = ``excluded_optout`` +
``dropped`` + ``delivered`` + ``blocked`` (the records of a run that was
stopped, decision 0696) + ``unreceipted`` + ``refused``: records are
``delivered`` only once the registry holder receipted exactly what was sent;
before that they await its receipt, and a version it refused counts them as
``refused`` (decision 0751, :meth:`Accounting.as_version_status`).
``moved_from`` says how many of the delivered records an earlier version of
another period held (their date moved; decision 0465).
``not_followable`` says, per dataset, how many delivered records cannot be
looked up in the other periods (no key variable, or a key part left empty;
decision 0495) and ``unchecked_periods`` which other periods' held versions
recorded no record keys to look them up in (decision 0496): a run that could
not check says so where it says what it delivered. ``other_patient`` says, per
dataset, how many resources linked to the run's records named another patient
and were left out, neither read nor delivered (decision 0570).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aanlevering.errors import ValidationBlocked


@dataclass(frozen=True)
class TypeFailures:
    """Patients of the run that did not get one pseudonym type, and why (reason -> patients)."""

    type: str
    patients: int
    reasons: Mapping[str, int] = field(default_factory=dict)

    @property
    def main_reason(self) -> tuple[str, int]:
        """The most frequent reason and its count (("unknown", n) when none was recorded)."""
        if not self.reasons:
            return "unknown", self.patients
        reason = max(sorted(self.reasons), key=lambda text: self.reasons[text])
        return reason, self.reasons[reason]


@dataclass(frozen=True)
class Accounting:
    """Records and patients of one run, stage by stage."""

    records_read: int = 0
    excluded_optout: int = 0
    patients: int = 0
    failed: tuple[TypeFailures, ...] = ()
    #: Patients without any pseudonym type: their records are the dropped ones (decision 0442).
    without_pseudonym: int = 0
    dropped: int = 0
    delivered: int = 0
    #: Records of the source dated before / after the period (a related record by its parent's).
    outside_before: int = 0
    outside_after: int = 0
    #: Related records whose parent record is not in the source at all (left out, listed).
    orphans: int = 0
    #: Other period -> delivered records an earlier version of that period held (0465).
    moved_from: Mapping[str, int] = field(default_factory=dict)
    #: Dataset -> delivered records that cannot be followed across periods (0495).
    not_followable: Mapping[str, int] = field(default_factory=dict)
    #: Other periods whose held version recorded no record keys: not checked (0496).
    unchecked_periods: tuple[str, ...] = ()
    #: Dataset -> linked resources of another patient left out (decision 0570).
    other_patient: Mapping[str, int] = field(default_factory=dict)
    #: Dataset -> further copies of a record's resource in a FHIR source: the first is read.
    duplicates: Mapping[str, int] = field(default_factory=dict)
    #: Dataset -> records of a FHIR source entered in error: never delivered (decision 0692).
    entered_in_error: Mapping[str, int] = field(default_factory=dict)
    #: Records a stopped run did not deliver (a threshold, a record held elsewhere; 0696).
    blocked: int = 0
    #: Records of a version staged or sent whose receipt has not come back (0751).
    unreceipted: int = 0
    #: Records of a version the registry holder refused (0751).
    refused: int = 0

    @property
    def records_in_source(self) -> int:
        """Every record the extract found, in the period or not, copies and errors included."""
        return (
            sum(self.duplicates.values())
            + sum(self.entered_in_error.values())
            + self.records_read
            + self.outside_before
            + self.outside_after
            + self.orphans
        )

    def as_summary(self) -> dict[str, Any]:
        """A plain mapping for run state, XCom and printing (counts only)."""
        return {
            "records_read": self.records_read,
            "excluded_optout": self.excluded_optout,
            "patients": self.patients,
            "failed": {
                f.type: {"patients": f.patients, "reasons": dict(f.reasons)} for f in self.failed
            },
            "without_pseudonym": self.without_pseudonym,
            "dropped": self.dropped,
            "delivered": self.delivered,
            "records_in_source": self.records_in_source,
            "outside_before": self.outside_before,
            "outside_after": self.outside_after,
            "orphans": self.orphans,
            "moved_from": dict(sorted(self.moved_from.items())),
            "not_followable": dict(sorted(self.not_followable.items())),
            "unchecked_periods": sorted(self.unchecked_periods),
            "other_patient": dict(sorted(self.other_patient.items())),
            "duplicates": dict(sorted(self.duplicates.items())),
            "entered_in_error": dict(sorted(self.entered_in_error.items())),
            "blocked": self.blocked,
            "unreceipted": self.unreceipted,
            "refused": self.refused,
        }

    @classmethod
    def from_summary(cls, raw: Mapping[str, Any]) -> Accounting:
        """The inverse of :meth:`as_summary`."""
        failed = raw.get("failed") or {}
        return cls(
            records_read=int(raw.get("records_read", 0)),
            excluded_optout=int(raw.get("excluded_optout", 0)),
            patients=int(raw.get("patients", 0)),
            failed=tuple(
                TypeFailures(str(t), int(v["patients"]), dict(v.get("reasons") or {}))
                for t, v in failed.items()
            ),
            without_pseudonym=int(raw.get("without_pseudonym", 0)),
            dropped=int(raw.get("dropped", 0)),
            delivered=int(raw.get("delivered", 0)),
            outside_before=int(raw.get("outside_before", 0)),
            outside_after=int(raw.get("outside_after", 0)),
            orphans=int(raw.get("orphans", 0)),
            moved_from={str(k): int(v) for k, v in (raw.get("moved_from") or {}).items()},
            not_followable={str(k): int(v) for k, v in (raw.get("not_followable") or {}).items()},
            unchecked_periods=tuple(str(p) for p in raw.get("unchecked_periods") or ()),
            other_patient={str(k): int(v) for k, v in (raw.get("other_patient") or {}).items()},
            duplicates={str(k): int(v) for k, v in (raw.get("duplicates") or {}).items()},
            entered_in_error={
                str(k): int(v) for k, v in (raw.get("entered_in_error") or {}).items()
            },
            blocked=int(raw.get("blocked", 0)),
            unreceipted=int(raw.get("unreceipted", 0)),
            refused=int(raw.get("refused", 0)),
        )

    def as_version_status(self, status: str) -> Accounting:
        """This accounting as a version's ledger ``status`` makes it: delivered only if receipted.

        Why: a version's accounting is recorded when it is staged, with the
        records it carries as ``delivered``; a version the registry holder
        refused, or that never got its receipt, read "delivered N" in the
        hospital's report, ``aanlevering status`` and the Deliveries page
        (decision 0751). Rejected: ``refused``; staged or failed (to retry):
        ``unreceipted``; aborted (the run was stopped before a receipt): ``blocked``.
        """
        if status == "receipted" or not self.delivered:
            return self
        carried = self.delivered
        if status == "rejected":
            return replace(self, delivered=0, refused=self.refused + carried)
        if status == "aborted":
            return replace(self, delivered=0, blocked=self.blocked + carried)
        return replace(self, delivered=0, unreceipted=self.unreceipted + carried)

    def describe(self, *, built: bool = True) -> str:
        """One line for people: source, outside, read, excluded, failed, dropped, delivered.

        ``built`` False: the delivery is not built yet (right after pseudonymisation);
        the line then ends in the records *to deliver*, never "delivered 0" (decision 0690).
        """
        failed = ", ".join(f"{f.type} {f.patients}" for f in self.failed if f.patients) or "none"
        moved = "".join(
            f", moved from {period} {count}" for period, count in sorted(self.moved_from.items())
        )
        if self.not_followable:
            per_dataset = ", ".join(f"{n} {c}" for n, c in sorted(self.not_followable.items()))
            moved += f"; not followable across periods: {per_dataset}"
        if self.other_patient:
            per_dataset = ", ".join(f"{n} {c}" for n, c in sorted(self.other_patient.items()))
            moved += (
                f"; linked resources of another patient left out (not delivered): {per_dataset}"
            )
        if self.unchecked_periods:
            moved += (
                "; not checked against "
                f"{', '.join(sorted(self.unchecked_periods))} (no record keys recorded there)"
            )
        return (
            f"{self.describe_source()}; "
            f"read {self.records_read}, excluded by opt-out {self.excluded_optout}, "
            f"patients {self.patients}, without a pseudonym type: {failed}, "
            f"without any pseudonym {self.without_pseudonym}, "
            f"dropped {self.dropped}, {self._outcome(built)}{moved}"
        )

    def describe_source(self) -> str:
        """Where the source's records went before any was read: copies, outside, orphans.

        Why apart: a run that finds nothing in its period says where every record of
        the source went with it, not only those outside the period (decision 0754).
        """
        set_aside = "".join(
            f"{what} left out: {', '.join(f'{n} {c}' for n, c in sorted(counts.items()))}; "
            for what, counts in (
                ("second copies", self.duplicates),
                ("entered in error", self.entered_in_error),
            )
            if counts
        )
        return (
            f"in the source {self.records_in_source}: {set_aside}outside the period "
            f"{self.outside_before} before, {self.outside_after} after, orphans {self.orphans}"
        )

    def _outcome(self, built: bool) -> str:
        if self.blocked:
            return f"delivered {self.delivered}, blocked {self.blocked} (the run was stopped)"
        if self.refused:
            return f"delivered {self.delivered}, refused by the registry holder {self.refused}"
        if self.unreceipted:  # never "delivered 0" of records sent (decisions 0690, 0751)
            return f"awaiting the registry holder's receipt {self.unreceipted}"
        if built:
            return f"delivered {self.delivered}"
        return f"to deliver {self.records_read - self.excluded_optout - self.dropped}"

    def handed_on(self, *, built: bool = True) -> dict[str, Any]:
        """:meth:`as_summary` for a task's XCom: before the build, ``to_deliver``, no "delivered".

        Why: the pseudonymise task's summary said ``delivered: 0`` of a run that went on to
        deliver every record (decision 0690).
        """
        summary = self.as_summary()
        if not built or self.unreceipted:  # no "delivered" before the receipt (0751)
            del summary["delivered"]
        if not built:
            summary["to_deliver"] = self.records_read - self.excluded_optout - self.dropped
        return summary


def check_thresholds(
    accounting: Accounting, *, max_share: float, registration: str, period: str
) -> None:
    """Block (ValidationBlocked, exit 1) a run that loses too much.

    Zero records left from an extract that had some is always blocked; so is
    any pseudonym type that more than ``max_share`` of the patients lack. The
    message names the type, the count and the most frequent reason.
    """
    remaining = accounting.records_read - accounting.excluded_optout - accounting.dropped
    if accounting.records_read and remaining <= 0:
        raise ValidationBlocked(
            f"{registration} {period}: no record left to deliver from {accounting.records_read} "
            f"read ({accounting.excluded_optout} excluded by opt-out, {accounting.dropped} "
            "without any pseudonym); an empty delivery from a non-empty extract is never sent"
        )
    if not accounting.patients:
        return
    over = [f for f in accounting.failed if f.patients / accounting.patients > max_share + 1e-12]
    if over:
        parts = []
        for failures in over:
            reason, count = failures.main_reason
            parts.append(
                f"{failures.type}: {failures.patients} of {accounting.patients} patients "
                f"({failures.patients / accounting.patients:.1%}) without it, mostly "
                f"{reason} ({count})"
            )
        raise ValidationBlocked(
            f"{registration} {period}: too many patients without a pseudonym type (more than "
            f"validation.max_unpseudonymised_share {max_share:.1%}): {'; '.join(parts)}; "
            f"`aanlevering failures --registration {registration} --period {period} --input ...` "
            "lists them by patient number"
        )
