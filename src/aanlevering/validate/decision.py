"""Whether validation results block the delivery, per the registration's policy.

``block_on`` (RegistrationConfig.validation) says which failures stop a
delivery: ``error`` (failed error-severity checks block, warnings are
reported), ``warning`` (any failed check blocks) or ``never`` (report only).
The result is a small value object the CLI, the pipeline and the DAG share,
so the rule lives in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aanlevering.errors import ConfigError, ValidationBlocked
from aanlevering.validate.results import DatasetResult

BLOCK_ON = ("error", "warning", "never")


@dataclass(frozen=True)
class Decision:
    """Failed checks by severity and what they mean for the delivery."""

    passed: bool
    blocked: bool
    failed_errors: int
    failed_warnings: int
    checks: int


def decide(datasets: Iterable[DatasetResult], block_on: str) -> Decision:
    """Apply ``block_on`` to the failed checks of every dataset."""
    if block_on not in BLOCK_ON:
        raise ConfigError(f"validation.block_on {block_on!r} is not one of {', '.join(BLOCK_ON)}")
    results = [check for dataset in datasets for check in dataset.checks]
    failed_errors = sum(1 for c in results if not c.success and c.severity == "error")
    failed_warnings = sum(1 for c in results if not c.success and c.severity == "warning")
    if block_on == "error":
        blocked = failed_errors > 0
    elif block_on == "warning":
        blocked = failed_errors + failed_warnings > 0
    else:
        blocked = False
    return Decision(
        passed=failed_errors + failed_warnings == 0,
        blocked=blocked,
        failed_errors=failed_errors,
        failed_warnings=failed_warnings,
        checks=len(results),
    )


@dataclass(frozen=True)
class ValidationOutcome:
    """The result of validating one registration's extract for one period.

    ``passed``: every check passed. ``blocked``: the delivery must not go
    ahead (see :func:`decide`). ``rows`` per dataset; ``counts`` holds other
    figures the caller passed in (records excluded by opt-out, ...).
    ``report_paths``: ``json``, ``html`` (for the registry holder) and
    ``data_docs`` (GX data docs, for the hospital only) when built.
    """

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
    report_paths: Mapping[str, str] = field(default_factory=dict)

    @property
    def warnings_only(self) -> bool:
        """Checks failed, but none that block the delivery."""
        return not self.passed and not self.blocked

    def raise_if_blocked(self) -> None:
        """Raise :class:`ValidationBlocked` (exit code 1) when the delivery must stop."""
        if self.blocked:
            raise ValidationBlocked(
                f"validation of {self.registration} {self.period} blocks the delivery: "
                f"{self.failed_errors} error check(s) and {self.failed_warnings} warning "
                f"check(s) failed (block_on: {self.block_on}); report: "
                f"{self.report_paths.get('html', self.report_paths.get('json', '-'))}"
            )
