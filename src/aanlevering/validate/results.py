"""What a validation found, in the product's own terms (no GX objects past this point).

A :class:`CheckResult` is one dictionary rule applied to one dataset: counts,
pass/fail and the *row references* of a bounded number of failing records.
It never holds values: a failing value can identify a patient (a rare birth
year with a rare diagnosis), so only the GX data docs, which stay in the
hospital, show them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aanlevering.catalogue.model import Severity
from aanlevering.validate.checks import Check


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check on one dataset.

    ``failing_row_refs`` lists at most the policy's ``row_detail_limit``
    records, in row order. ``problem`` explains a failure that is not about
    single records (a missing column, a check GX could not evaluate, which
    counts as failed); it names variables and kinds of problem, never data.
    ``note`` adds context to a row-level failure (how values must be written).
    """

    rule_id: str
    dataset: str
    kind: str
    severity: Severity
    description: str
    variables: tuple[str, ...]
    expectation_type: str
    engine: str
    success: bool
    element_count: int
    unexpected_count: int
    unexpected_percent: float
    failing_row_refs: tuple[str, ...] = ()
    problem: str | None = None
    note: str | None = None

    @property
    def variable(self) -> str | None:
        """The single variable the check is about, if any."""
        return self.variables[0] if len(self.variables) == 1 else None

    @classmethod
    def of(
        cls,
        check: Check,
        *,
        success: bool,
        element_count: int,
        unexpected_count: int,
        unexpected_percent: float | None = None,
        failing_row_refs: tuple[str, ...] = (),
        problem: str | None = None,
        note: str | None = None,
    ) -> CheckResult:
        """Build a result for ``check``; the percentage defaults to count / elements."""
        if unexpected_percent is None:
            unexpected_percent = 100.0 * unexpected_count / element_count if element_count else 0.0
        return cls(
            rule_id=check.rule_id,
            dataset=check.dataset,
            kind=check.kind,
            severity=check.severity,
            description=check.description,
            variables=check.variables,
            expectation_type=check.expectation_type,
            engine=check.engine,
            success=success,
            element_count=element_count,
            unexpected_count=unexpected_count,
            unexpected_percent=round(float(unexpected_percent), 4),
            failing_row_refs=failing_row_refs,
            problem=problem,
            note=note,
        )


@dataclass(frozen=True)
class DatasetResult:
    """Every check of one dataset, with the suite that was applied."""

    name: str
    rows: int
    suite: str
    suite_fingerprint: str
    suite_source: str
    checks: tuple[CheckResult, ...]
    rows_outside_period: int = 0

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        """The checks that did not pass."""
        return tuple(check for check in self.checks if not check.success)
