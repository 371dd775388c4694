"""Validate one registration's extract for one period: the stage the CLI and DAGs call.

Steps: check the extract fits the registration, run the generated suites and
the companion checks per dataset in one in-memory GX context, build the GX
data docs (hospital only) under ``<report dir>/data-docs``, write the registry
holder's report, decide per ``block_on``, and append ``ValidationCompleted``
to the event log. Returns a :class:`ValidationOutcome`; it does not raise
when the delivery is blocked (call ``outcome.raise_if_blocked()`` for that),
so callers always get the report paths.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.errors import ExtractError
from aanlevering.events.store import EventStore
from aanlevering.extract.model import Extract, ExtractedDataset
from aanlevering.validate.checks import check_provider_type
from aanlevering.validate.decision import ValidationOutcome, decide
from aanlevering.validate.events import ValidationCompleted, validation_stream
from aanlevering.validate.file_names import withhold_identifying_names
from aanlevering.validate.gx import file_context_dir as default_file_context_dir
from aanlevering.validate.gx import has_file_context, suite_dir_for
from aanlevering.validate.hospital_report import write_hospital_report
from aanlevering.validate.identity import IdentityFinding, check_identity
from aanlevering.validate.other_patient import (
    COUNT_KEY,
    SECTION,
    hospital_section,
    left_out,
    other_patient_results,
)
from aanlevering.validate.related_patient import related_patient_results
from aanlevering.validate.report import ReportContext, build_report, write_report
from aanlevering.validate.results import CheckResult, DatasetResult
from aanlevering.validate.run import build_data_docs, open_run, validate_datasets

log = logging.getLogger(__name__)

DATA_DOCS_DIR = "data-docs"


def _datasets_in_order(extract: Extract, config: RegistrationConfig) -> list[ExtractedDataset]:
    if extract.registration_id != config.id:
        raise ExtractError(
            f"the extract is for registration {extract.registration_id!r}, not {config.id!r}"
        )
    expected = [dataset.name for dataset in config.dictionary.datasets]
    unknown = sorted(set(extract.datasets) - set(expected))
    if unknown:
        raise ExtractError(
            f"extract for {config.id} has dataset(s) {', '.join(unknown)} that dictionary "
            f"{config.dictionary.id} {config.dictionary.version} does not define"
        )
    missing = [name for name in expected if name not in extract.datasets]
    if missing:
        raise ExtractError(
            f"extract for {config.id} {extract.period.label} lacks dataset(s) "
            f"{', '.join(missing)} of dictionary {config.dictionary.id} "
            f"{config.dictionary.version}"
        )
    return [extract.datasets[name] for name in expected]


def _suite_dir(config: RegistrationConfig) -> Path | None:
    """The committed suites of the registration's own catalogue; None (generate) if none."""
    catalogue = Path(config.source_file).parents[1] if config.source_file else None
    root = suite_dir_for(catalogue) if catalogue is not None else default_file_context_dir()
    if root is not None and not has_file_context(root):
        log.warning(
            "no expectation suites for catalogue %s in %s; using suites generated from the "
            "dictionaries; run `aanlevering validate --regenerate-suites --catalogue %s`",
            catalogue,
            root,
            catalogue,
        )
        return None
    return root


def _with_identity(
    results: Sequence[DatasetResult],
    identity: Sequence[IdentityFinding],
    others: Sequence[CheckResult] = (),
) -> tuple[DatasetResult, ...]:
    """Each dataset's results followed by its identity checks (counts only, see identity.py).

    ``others``: the findings of linked resources of another patient (decision 0570).
    """
    by_dataset: dict[str, list[CheckResult]] = {}
    for finding in identity:
        by_dataset.setdefault(finding.dataset, []).append(finding.result())
    for result in others:
        by_dataset.setdefault(result.dataset, []).append(result)
    return tuple(
        replace(result, checks=(*result.checks, *by_dataset.get(result.name, ())))
        for result in results
    )


def validate_extract(
    extract: Extract,
    config: RegistrationConfig,
    *,
    provider_type: str,
    report_dir: Path,
    provider_id: str = "",
    event_store: EventStore | None = None,
    counts: Mapping[str, int] | None = None,
    data_docs: bool = True,
    file_context_dir: Path | Literal["default"] | None = "default",
) -> ValidationOutcome:
    """Validate ``extract`` against ``config``'s dictionary; write reports; record the fact.

    ``counts``: extra figures for the report and event (e.g. records excluded
    by opt-out). ``file_context_dir``: the GX file context with the committed
    suites (default: :func:`aanlevering.validate.gx.file_context_dir`; None
    generates the suites in memory). Raises ExtractError when the extract
    does not fit the registration and ConfigError for an unknown provider type.
    """
    check_provider_type(provider_type)
    datasets = _datasets_in_order(extract, config)
    gx_dir = _suite_dir(config) if isinstance(file_context_dir, str) else file_context_dir
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    docs_dir = report_dir / DATA_DOCS_DIR
    if docs_dir.exists():  # an earlier run's pages would otherwise linger in the index
        shutil.rmtree(docs_dir)
    period = extract.period.label
    run = open_run(f"{config.id}-{period}", docs_dir if data_docs else None)
    results = validate_datasets(
        run,
        config.dictionary,
        datasets,
        provider_type,
        row_detail_limit=config.validation.row_detail_limit,
        file_context_dir=gx_dir,
    )
    docs_index = build_data_docs(run)
    types = [str(t) for t in config.pseudonymisation.types]
    identity = [finding for dataset in datasets for finding in check_identity(dataset, types)]
    limit = config.validation.row_detail_limit
    linkage = [
        *other_patient_results(datasets, limit),
        *related_patient_results(config.dictionary, datasets, limit),
    ]
    results = _with_identity(results, identity, linkage)
    decision = decide(results, config.validation.block_on)
    extra = dict(counts or {})
    if extract.rows_outside_period:
        extra.setdefault("rows_outside_period", int(extract.rows_outside_period))
    if left_out(datasets):
        extra.setdefault(COUNT_KEY, left_out(datasets))
    report = build_report(
        ReportContext(
            config=config,
            period=extract.period,
            provider_type=provider_type,
            provider_id=provider_id,
            source_kind=extract.source_kind,
            generated_at=datetime.now(UTC),
        ),
        withhold_identifying_names(results, datasets),  # decision 0375
        decision,
        extra,
    )
    written = write_report(report, report_dir)
    paths = {"json": str(written.json_path), "html": str(written.html_path)}
    paths["hospital"] = str(
        write_hospital_report(
            report_dir,
            registration=config.id,
            period=period,
            identity=identity,
            sections={SECTION: hospital_section(datasets)} if left_out(datasets) else None,
        )
    )
    if docs_index is not None:
        paths["data_docs"] = str(docs_index)
    outcome = ValidationOutcome(
        registration=config.id,
        period=period,
        dictionary_id=config.dictionary.id,
        dictionary_version=config.dictionary.version,
        provider_type=provider_type,
        block_on=config.validation.block_on,
        passed=decision.passed,
        blocked=decision.blocked,
        checks=decision.checks,
        failed_errors=decision.failed_errors,
        failed_warnings=decision.failed_warnings,
        rows={result.name: result.rows for result in results},
        counts=extra,
        report_paths=paths,
    )
    if event_store is not None:
        event = ValidationCompleted(
            registration=config.id,
            period=period,
            dictionary_id=config.dictionary.id,
            dictionary_version=config.dictionary.version,
            provider_type=provider_type,
            block_on=outcome.block_on,
            passed=outcome.passed,
            blocked=outcome.blocked,
            checks=outcome.checks,
            failed_errors=outcome.failed_errors,
            failed_warnings=outcome.failed_warnings,
            rows=dict(outcome.rows),
            counts=extra,
            failed_rules=tuple(c.rule_id for r in results for c in r.checks if not c.success),
            suites={result.name: result.suite for result in results},
            report_dir=str(report_dir.resolve()),
            report_sha256=written.json_sha256,
        )
        event_store.append(validation_stream(config.id, period), [event], None)
    log.info(
        "validation of %s %s: %s (%d checks, %d error and %d warning checks failed); report %s",
        config.id,
        period,
        "blocked" if outcome.blocked else ("passed" if outcome.passed else "warnings"),
        outcome.checks,
        outcome.failed_errors,
        outcome.failed_warnings,
        written.json_path,
    )
    return outcome
