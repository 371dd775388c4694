"""Checks judged from what the extract saw, reported next to the GX results.

A value that did not parse as its variable's type (``"31-13-2026"`` for a
date, ``"abc"`` for a number) is null in the typed clinical table, so no
expectation on that table can tell it from a missing value. The extract lists
such values as :class:`~aanlevering.extract.model.TypeProblem` (row reference
and variable only) and leaves records whose parent record is missing out of
the table, listing them as orphans. These checks turn both lists, and the
Arrow type of each column, into :class:`CheckResult` objects in the same
format as the GX results.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from aanlevering.extract.model import ARROW_TYPES, ExtractedDataset
from aanlevering.validate.checks import Check
from aanlevering.validate.results import CheckResult


def _problems_by_variable(dataset: ExtractedDataset) -> Mapping[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for problem in dataset.type_problems:
        grouped[problem.variable].append(problem.row_ref)
    return grouped


def _expected_by_variable(dataset: ExtractedDataset) -> Mapping[str, list[str]]:
    """How the extract said the values must be written (a format, never a value)."""
    expected: dict[str, list[str]] = defaultdict(list)
    for problem in dataset.type_problems:
        if problem.expected not in expected[problem.variable]:
            expected[problem.variable].append(problem.expected)
    return expected


def _type_result(
    check: Check,
    dataset: ExtractedDataset,
    problems: Mapping[str, list[str]],
    expected_texts: Mapping[str, list[str]],
    limit: int,
) -> CheckResult:
    column = str(check.kwargs["column"])
    rows = dataset.num_rows
    schema = dataset.clinical.schema
    if column not in schema.names:
        return CheckResult.of(
            check,
            success=False,
            element_count=rows,
            unexpected_count=rows,
            problem="the column is missing",
        )
    expected = ARROW_TYPES[str(check.kwargs["type"])]
    actual = schema.field(column).type
    if actual != expected:
        return CheckResult.of(
            check,
            success=False,
            element_count=rows,
            unexpected_count=rows,
            problem=f"the column has type {actual}, expected {expected}",
        )
    refs = problems.get(column, [])
    written = expected_texts.get(column, [])
    return CheckResult.of(
        check,
        success=not refs,
        element_count=rows,
        unexpected_count=len(refs),
        failing_row_refs=tuple(refs[:limit]),
        note=f"expected: {'; '.join(written)}" if written else None,
    )


def _relation_result(check: Check, dataset: ExtractedDataset, limit: int) -> CheckResult:
    orphans = tuple(dataset.orphan_row_refs)
    return CheckResult.of(
        check,
        success=not orphans,
        element_count=dataset.num_rows + len(orphans),
        unexpected_count=len(orphans),
        failing_row_refs=orphans[:limit],
    )


def evaluate_companions(
    checks: Sequence[Check], dataset: ExtractedDataset, limit: int
) -> dict[str, CheckResult]:
    """Results of the extract-side checks of one dataset, by rule id."""
    problems = _problems_by_variable(dataset)
    expected_texts = _expected_by_variable(dataset)
    results: dict[str, CheckResult] = {}
    for check in checks:
        if check.engine != "extract":
            continue
        if check.kind == "type":
            results[check.rule_id] = _type_result(check, dataset, problems, expected_texts, limit)
        elif check.kind == "relation":
            results[check.rule_id] = _relation_result(check, dataset, limit)
        else:  # pragma: no cover - dataset_checks only makes the two kinds above
            raise ValueError(f"no companion evaluator for check kind {check.kind!r}")
    return results
