"""Run the generated suites on an extract's clinical tables, in an in-memory GX context.

Only the clinical table goes into GX: identity is a separate table in the
extract and never reaches a DataFrame here, so data docs cannot show it.

Result format: SUMMARY with ``partial_unexpected_count`` set to the policy's
``row_detail_limit``. For pandas, GX then returns, per failing expectation,
the DataFrame index of the first N failing rows (``partial_unexpected_index_list``);
the DataFrame keeps Arrow's row order (a RangeIndex), so an index is a
position in ``row_refs``. That gives bounded row detail from the one
validation pass, without COMPLETE (which lists every failing row and value)
and without a second pass. See docs/decisions/0072-row-detail-from-summary.md.
``exclude_unexpected_values`` keeps the failing values themselves out of the
results and the data docs (decision 0470): a column may hold identifiers by a
mapping error, and a value is never needed to find the row.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from aanlevering.catalogue.model import DataDictionary
from aanlevering.extract.model import ExtractedDataset
from aanlevering.validate.checks import Check, dataset_checks
from aanlevering.validate.companion import evaluate_companions
from aanlevering.validate.gx import DATA_DOCS_SITE, import_gx, open_run_context
from aanlevering.validate.results import CheckResult, DatasetResult
from aanlevering.validate.suites import SuiteDocument, load_suite_document

log = logging.getLogger(__name__)

DATASOURCE = "extract"


def to_frame(table: pa.Table) -> Any:
    """The clinical table as a pandas DataFrame GX can validate quickly.

    Plain NumPy-backed columns (dates as datetime64, strings as pandas'
    Arrow-backed ``str``) validate about three times faster in GX than
    ``pd.ArrowDtype`` columns; integers with gaps become floats, which the
    range checks handle alike.
    """
    return table.to_pandas(date_as_object=False, timestamp_as_object=False)


def _error_text(result: Any) -> str | None:
    """Whether GX caught an exception while evaluating; its message may quote data, so not kept."""
    info = result.exception_info or {}
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("raised_exception"):
            return "could not be evaluated (details in the data docs)"
    return None


def _columns_result(check: Check, result: Any, details: Mapping[str, Any]) -> CheckResult:
    """Name the missing, unexpected or misplaced variables (names are schema, not data)."""
    expected = [str(c) for c in check.kwargs.get("column_list") or []]
    observed = [str(c) for c in details.get("observed_value") or []]
    missing = [c for c in expected if c not in observed]
    extra = [c for c in observed if c not in expected]
    misplaced = sum(1 for a, b in zip(expected, observed, strict=False) if a != b)
    problems = []
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    if extra:
        problems.append(f"not in the dictionary: {', '.join(extra)}")
    if not problems and not result.success:
        problems.append("variables in another order than the dictionary's")
    return CheckResult.of(
        check,
        success=bool(result.success),
        element_count=len(expected),
        unexpected_count=0 if result.success else (len(missing) + len(extra) or misplaced or 1),
        problem="; ".join(problems) or None,
    )


def _gx_result(check: Check, result: Any, rows: int, row_refs: pa.Array, limit: int) -> CheckResult:
    problem = _error_text(result)
    details: Mapping[str, Any] = result.result or {}
    if problem is not None:
        return CheckResult.of(
            check, success=False, element_count=rows, unexpected_count=0, problem=problem
        )
    if check.kind == "columns":
        return _columns_result(check, result, details)
    indexes = [int(i) for i in details.get("partial_unexpected_index_list") or []][:limit]
    refs = tuple(str(ref) for ref in row_refs.take(pa.array(indexes, pa.int64())).to_pylist())
    return CheckResult.of(
        check,
        success=bool(result.success),
        element_count=int(details.get("element_count") or 0),
        unexpected_count=int(details.get("unexpected_count") or 0),
        unexpected_percent=float(details.get("unexpected_percent") or 0.0),
        failing_row_refs=refs,
    )


@dataclass(frozen=True)
class RunContext:
    """The in-memory GX context of one validation run and its data docs folder."""

    context: Any
    data_docs_dir: Path | None
    run_name: str
    run_time: datetime


def open_run(run_name: str, data_docs_dir: Path | None) -> RunContext:
    """Start a run: a fresh in-memory GX context with one pandas datasource."""
    context = open_run_context(data_docs_dir)
    context.data_sources.add_pandas(DATASOURCE)
    return RunContext(context, data_docs_dir, run_name, datetime.now(UTC))


def validate_dataset(
    run: RunContext,
    dictionary: DataDictionary,
    dataset: ExtractedDataset,
    provider_type: str,
    *,
    row_detail_limit: int,
    file_context_dir: Path | None,
) -> DatasetResult:
    """Apply the dataset's suite and companion checks; return product-level results."""
    gx = import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    definition = dictionary.dataset(dataset.name)
    checks = dataset_checks(dictionary, definition, provider_type)
    suite_document: SuiteDocument = load_suite_document(
        dictionary, definition, provider_type, file_context_dir
    )
    context = run.context
    suite = context.suites.add(gx.ExpectationSuite(**suite_document.document))
    asset = context.data_sources.get(DATASOURCE).add_dataframe_asset(dataset.name)
    batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=dataset.name, data=batch_definition, suite=suite)
    )
    limit = max(0, int(row_detail_limit))
    suite_result = validation.run(
        batch_parameters={"dataframe": to_frame(dataset.clinical)},
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": limit,
            # the pandas query text lists every failing index; nothing reads it (a filter
            # of the whole frame per expectation)
            "return_unexpected_index_query": False,
            # no failing value in the results or the data docs: a mis-mapped identifier
            # column (a birth date as a date of death) would otherwise be written there
            # (decision 0470); the row positions stay
            "exclude_unexpected_values": True,
        },
        run_id=RunIdentifier(run_name=run.run_name, run_time=run.run_time),
    )
    row_refs = dataset.row_refs
    if isinstance(row_refs, pa.ChunkedArray):
        row_refs = row_refs.combine_chunks()
    by_rule: dict[str, CheckResult] = {}
    gx_checks = {check.rule_id: check for check in checks if check.engine == "gx"}
    for result in suite_result.results:
        rule_id = (result.expectation_config.meta or {}).get("rule_id")
        check = gx_checks.get(str(rule_id))
        if check is None:
            continue
        by_rule[check.rule_id] = _gx_result(check, result, dataset.num_rows, row_refs, limit)
    by_rule.update(evaluate_companions(checks, dataset, limit))
    missing = [check.rule_id for check in checks if check.rule_id not in by_rule]
    for rule_id in missing:  # a suite that lacks a rule must not pass silently
        check = next(c for c in checks if c.rule_id == rule_id)
        by_rule[rule_id] = CheckResult.of(
            check,
            success=False,
            element_count=dataset.num_rows,
            unexpected_count=0,
            problem="not evaluated (missing from the suite)",
        )
    ordered = tuple(by_rule[check.rule_id] for check in checks)
    log.info(
        "validated dataset %s: %d rows, %d checks, %d failed (suite %s from %s)",
        dataset.name,
        dataset.num_rows,
        len(ordered),
        sum(1 for r in ordered if not r.success),
        suite_document.name,
        suite_document.source,
    )
    return DatasetResult(
        name=dataset.name,
        rows=dataset.num_rows,
        suite=suite_document.name,
        suite_fingerprint=suite_document.fingerprint,
        suite_source=suite_document.source,
        checks=ordered,
        rows_outside_period=dataset.rows_outside_period,
    )


def build_data_docs(run: RunContext) -> Path | None:
    """Render the run's GX data docs (suites and results); returns the index page."""
    if run.data_docs_dir is None:
        return None
    run.context.build_data_docs(site_names=[DATA_DOCS_SITE])
    index = run.data_docs_dir / "index.html"
    return index if index.is_file() else None


def validate_datasets(
    run: RunContext,
    dictionary: DataDictionary,
    datasets: Sequence[ExtractedDataset],
    provider_type: str,
    *,
    row_detail_limit: int,
    file_context_dir: Path | None,
) -> tuple[DatasetResult, ...]:
    """Validate each dataset in turn within one run."""
    return tuple(
        validate_dataset(
            run,
            dictionary,
            dataset,
            provider_type,
            row_detail_limit=row_detail_limit,
            file_context_dir=file_context_dir,
        )
        for dataset in datasets
    )
