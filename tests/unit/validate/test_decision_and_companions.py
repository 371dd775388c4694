"""Blocking per block_on, and the checks judged from what the extract saw."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.errors import ConfigError, ValidationBlocked
from aanlevering.extract.model import ExtractedDataset, TypeProblem
from aanlevering.periods import Period
from aanlevering.validate.checks import Check, dataset_checks
from aanlevering.validate.companion import evaluate_companions
from aanlevering.validate.decision import ValidationOutcome, decide
from aanlevering.validate.results import CheckResult, DatasetResult
from aanlevering.validate.synthetic import synthetic_extract

REPO = Path(__file__).resolve().parents[3]
DSAA = load_catalogue(REPO / "schemas" / "catalogue").get("dica-dsaa")


def _result(severity: str, success: bool) -> CheckResult:
    check = Check(
        rule_id=f"x.{severity}.{success}",
        dataset="x",
        kind="required",
        severity=severity,  # type: ignore[arg-type]
        description="",
        expectation_type="expect_column_values_to_not_be_null",
    )
    return CheckResult.of(
        check, success=success, element_count=10, unexpected_count=0 if success else 2
    )


def _dataset(*results: CheckResult) -> DatasetResult:
    return DatasetResult("x", 10, "suite", "sha256:0", "generated", tuple(results))


@pytest.mark.parametrize(
    ("block_on", "failing", "passed", "blocked"),
    [
        ("error", (), True, False),
        ("error", ("warning",), False, False),
        ("error", ("error",), False, True),
        ("warning", ("warning",), False, True),
        ("warning", ("error", "warning"), False, True),
        ("never", ("error", "warning"), False, False),
    ],
)
def test_block_on_decides_which_failures_stop_the_delivery(
    block_on: str, failing: tuple[str, ...], passed: bool, blocked: bool
) -> None:
    results = [_result("error", True), _result("warning", True)]
    results += [_result(severity, False) for severity in failing]
    decision = decide([_dataset(*results)], block_on)
    assert decision.passed is passed
    assert decision.blocked is blocked
    assert decision.failed_errors == failing.count("error")
    assert decision.failed_warnings == failing.count("warning")
    assert decision.checks == len(results)


def test_unknown_block_on_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="block_on 'sometimes'"):
        decide([], "sometimes")


def test_a_blocked_outcome_raises_validation_blocked_naming_the_report() -> None:
    outcome = ValidationOutcome(
        registration="dica-dsaa",
        period="2026-Q1",
        dictionary_id="dsaa",
        dictionary_version="2026.1",
        provider_type="umc",
        block_on="error",
        passed=False,
        blocked=True,
        checks=62,
        failed_errors=2,
        failed_warnings=1,
        report_paths={"html": "/r/validation-report.html"},
    )
    with pytest.raises(ValidationBlocked, match=r"dica-dsaa 2026-Q1.*2 error.*report.html") as err:
        outcome.raise_if_blocked()
    assert err.value.exit_code == 1
    warnings_only = ValidationOutcome(**{**outcome.__dict__, "blocked": False})
    warnings_only.raise_if_blocked()
    assert warnings_only.warnings_only


@pytest.fixture(scope="module")
def operatie() -> ExtractedDataset:
    extract = synthetic_extract(DSAA, Period.parse("2026-Q1"), 50)
    return extract.datasets["operatie"]


def _companions(dataset: ExtractedDataset, limit: int = 20) -> dict[str, CheckResult]:
    definition = DSAA.dictionary.dataset(dataset.name)
    checks = dataset_checks(DSAA.dictionary, definition, "hospital")
    return evaluate_companions(checks, dataset, limit)


def test_clean_typed_columns_pass_the_type_checks(operatie: ExtractedDataset) -> None:
    results = _companions(operatie)
    assert len(results) == len(operatie.clinical.column_names)
    assert all(r.success and r.element_count == 50 for r in results.values())


def test_type_problems_fail_their_variable_with_bounded_row_refs(
    operatie: ExtractedDataset,
) -> None:
    refs = operatie.row_refs.to_pylist()
    problems = tuple(TypeProblem(refs[i], "datum_opname", "date (dd-mm-yyyy)") for i in (4, 9, 30))
    bad = ExtractedDataset(
        operatie.name, operatie.clinical, operatie.identity, operatie.row_refs, problems
    )
    results = _companions(bad, limit=2)
    failed = results["operatie.datum_opname.type"]
    assert not failed.success
    assert failed.unexpected_count == 3
    assert failed.unexpected_percent == 6.0
    assert failed.failing_row_refs == (refs[4], refs[9])
    assert failed.note == "expected: date (dd-mm-yyyy)"
    assert failed.problem is None
    assert results["operatie.datum_operatie.type"].success


def test_a_column_of_the_wrong_arrow_type_or_missing_fails_every_row(
    operatie: ExtractedDataset,
) -> None:
    index = operatie.clinical.column_names.index("diameter_aneurysma")
    as_text = operatie.clinical.set_column(
        index, "diameter_aneurysma", operatie.clinical.column(index).cast(pa.string())
    )
    without = operatie.clinical.drop_columns(["bmi"])
    for table, rule, problem in (
        (as_text, "operatie.diameter_aneurysma.type", "has type string, expected int64"),
        (without, "operatie.bmi.type", "missing"),
    ):
        dataset = ExtractedDataset(operatie.name, table, operatie.identity, operatie.row_refs)
        result = _companions(dataset)[rule]
        assert not result.success
        assert result.unexpected_count == 50
        assert result.problem is not None
        assert problem in result.problem


def test_orphan_records_fail_the_relation_check() -> None:
    extract = synthetic_extract(DSAA, Period.parse("2026-Q1"), 20)
    child = extract.datasets["complicatie"]
    orphans = ("dsaa_complicaties.csv:40", "dsaa_complicaties.csv:41")
    with_orphans = ExtractedDataset(
        child.name, child.clinical, child.identity, child.row_refs, orphan_row_refs=orphans
    )
    checks = dataset_checks(DSAA.dictionary, DSAA.dictionary.dataset("complicatie"), "umc")
    clean = evaluate_companions(checks, child, 20)["complicatie.operatie_id.relation"]
    assert clean.success
    result = evaluate_companions(checks, with_orphans, 20)["complicatie.operatie_id.relation"]
    assert not result.success
    assert result.element_count == 22
    assert result.failing_row_refs == orphans
