"""``aanlevering validate``: check an EHR extract against the registration's data dictionary.

    aanlevering validate --registration ID --input PATH --period P [--report-dir DIR]
    aanlevering validate --regenerate-suites      # write the GX suites the dictionaries imply
    aanlevering validate --check-suites           # exit 2 when the committed suites are stale

Exit codes: 0 valid (also when only non-blocking checks failed; the summary
says so), 1 checks failed that block the delivery (reports written), 2
unusable input or config. The summary names counts, rule ids and report
paths, never record contents. GX is imported only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from aanlevering.errors import ConfigError

if TYPE_CHECKING:
    from aanlevering.validate.decision import ValidationOutcome

#: Failed rules listed in the summary before "... and N more".
SUMMARY_RULES = 15


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` command."""
    parser = subparsers.add_parser(
        "validate",
        help="validate an extract against the registration's data dictionary",
        description=(
            "Validate an EHR extract (CSV or FHIR) of one registration and period against "
            "its data dictionary with Great Expectations. Writes validation-report.json/.html "
            "for the registry holder and GX data docs for the hospital into the report folder."
        ),
    )
    parser.add_argument("--registration", metavar="ID", help="registration id (see registrations)")
    parser.add_argument("--input", metavar="PATH", type=Path, help="CSV folder or FHIR export")
    parser.add_argument("--period", metavar="P", help="2026, 2026-Q1 or 2026-01")
    parser.add_argument(
        "--report-dir",
        metavar="DIR",
        type=Path,
        help="where the reports go (default: $AANLEVERING_HOME/reports/<registration>/<period>)",
    )
    parser.add_argument(
        "--provider-type",
        choices=("hospital", "umc", "zbc"),
        help="which variables are required (default: $AANLEVERING_PROVIDER_TYPE)",
    )
    parser.add_argument("--catalogue", metavar="DIR", help="catalogue folder")
    parser.add_argument(
        "--no-data-docs", action="store_true", help="skip the GX data docs (faster)"
    )
    suites = parser.add_mutually_exclusive_group()
    suites.add_argument(
        "--regenerate-suites",
        action="store_true",
        help="write the expectation suites the dictionaries imply into the GX file context",
    )
    suites.add_argument(
        "--check-suites",
        action="store_true",
        help="exit 2 when the committed suites differ from the dictionaries",
    )
    parser.add_argument(
        "--gx-dir", metavar="DIR", type=Path, help="GX file context (default: great_expectations/)"
    )
    parser.set_defaults(handler=run)


def _gx_dir(args: argparse.Namespace) -> Path | None:
    """``--gx-dir``, else the file context of the catalogue in use (see ``suite_dir_for``)."""
    from aanlevering.settings import load_settings
    from aanlevering.validate.gx import suite_dir_for

    if args.gx_dir:
        return Path(args.gx_dir)
    return suite_dir_for(Path(args.catalogue) if args.catalogue else load_settings().catalogue_dir)


def _suites(args: argparse.Namespace, out: TextIO) -> int:
    from aanlevering.catalogue import load_catalogue
    from aanlevering.settings import load_settings
    from aanlevering.validate.suites import catalogue_dictionaries, sync_suites

    gx_dir = _gx_dir(args)
    if gx_dir is None:
        raise ConfigError(
            "no GX file context found: pass --gx-dir or set AANLEVERING_GX_DIR "
            "(a folder with great_expectations.yml)"
        )
    catalogue = load_catalogue(args.catalogue or load_settings().catalogue_dir)
    result = sync_suites(catalogue_dictionaries(catalogue), gx_dir, check_only=args.check_suites)
    if args.check_suites:
        if not result.in_sync:
            raise ConfigError(
                f"expectation suites in {gx_dir} differ from the dictionaries "
                f"(stale or missing: {', '.join(result.written) or '-'}; orphaned: "
                f"{', '.join(result.removed) or '-'}); run `aanlevering validate "
                "--regenerate-suites` and commit great_expectations/"
            )
        print(f"{len(result.unchanged)} expectation suites in {gx_dir} are current", file=out)
        return 0
    print(
        f"expectation suites in {gx_dir}: {len(result.written)} written, "
        f"{len(result.unchanged)} unchanged, {len(result.removed)} removed",
        file=out,
    )
    for name in result.written:
        print(f"  wrote {name}", file=out)
    for name in result.removed:
        print(f"  removed {name}", file=out)
    return 0


def _require(args: argparse.Namespace) -> None:
    missing = [
        flag
        for flag, value in (
            ("--registration", args.registration),
            ("--input", args.input),
            ("--period", args.period),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"validate needs {', '.join(missing)} (or --regenerate-suites / --check-suites)"
        )


def _report_dir(path: Path) -> Path:
    """Refuse an unusable report folder up front; it is created only once the extract is read."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--report-dir {path} exists and is not a folder")
    return path.absolute()  # GX's Data Docs site needs an absolute folder


def _create(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"--report-dir {path} cannot be created: {error.strerror or error}"
        ) from None
    return path


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    from aanlevering.catalogue.loader import load_registration
    from aanlevering.errors import ExtractError
    from aanlevering.events import open_event_store
    from aanlevering.extract import extract
    from aanlevering.periods import Period
    from aanlevering.progress import StageProgress
    from aanlevering.settings import load_settings
    from aanlevering.validate.checks import check_provider_type
    from aanlevering.validate.service import validate_extract

    _require(args)
    settings = load_settings()
    # Its own registration only: another's broken file does not stop it (0421, 0679).
    config = load_registration(args.catalogue or settings.catalogue_dir, args.registration)
    period = Period.parse(args.period)
    provider_type = args.provider_type or settings.provider_type
    check_provider_type(provider_type)
    input_path = Path(args.input)
    if not input_path.exists():
        raise ExtractError(f"--input {input_path} does not exist")
    report_dir = _report_dir(
        Path(args.report_dir)
        if args.report_dir
        else settings.reports_dir / config.id / period.label
    )
    title = f"validate {config.id} {period.label}"
    with StageProgress(title, ("extract", "validate")) as progress:
        with progress.stage("extract"):
            data = extract(config, input_path, period)
        _create(report_dir)
        with open_event_store(settings.event_store_url) as store, progress.stage("validate"):
            outcome = validate_extract(
                data,
                config,
                provider_type=provider_type,
                report_dir=report_dir,
                provider_id=settings.provider_id,
                event_store=store,
                data_docs=not args.no_data_docs,
                file_context_dir=Path(args.gx_dir) if args.gx_dir else "default",
            )
    report = json.loads(Path(outcome.report_paths["json"]).read_text(encoding="utf-8"))
    _summary(outcome, report, out)
    return 1 if outcome.blocked else 0


def _summary(outcome: ValidationOutcome, report: dict[str, Any], out: TextIO) -> None:
    if outcome.blocked:
        verdict = "BLOCKED: checks failed that block the delivery"
    elif outcome.passed:
        verdict = "PASSED: every check passed"
    else:
        verdict = "PASSED WITH WARNINGS: only non-blocking checks failed; the delivery may go ahead"
    print(
        f"validation of {outcome.registration} {outcome.period} "
        f"(dictionary {outcome.dictionary_id} {outcome.dictionary_version}, "
        f"provider type {outcome.provider_type}): {verdict}",
        file=out,
    )
    rows = ", ".join(f"{name} {count}" for name, count in outcome.rows.items())
    print(f"  records: {rows}", file=out)
    for key, value in outcome.counts.items():
        print(f"  {key}: {value}", file=out)
    print(
        f"  checks: {outcome.checks}; failed: {outcome.failed_errors} error, "
        f"{outcome.failed_warnings} warning (block on: {outcome.block_on})",
        file=out,
    )
    failed = [
        check
        for dataset in report["datasets"]
        for check in dataset["checks"]
        if not check["passed"]
    ]
    for check in failed[:SUMMARY_RULES]:
        print(
            f"  FAILED [{check['severity']}] {check['rule_id']}: "
            f"{check['unexpected_count']} of {check['element_count']}",
            file=out,
        )
    if len(failed) > SUMMARY_RULES:
        print(f"  ... and {len(failed) - SUMMARY_RULES} more (see the report)", file=out)
    print(f"  report for the registry holder: {outcome.report_paths['html']}", file=out)
    print(f"                           (JSON): {outcome.report_paths['json']}", file=out)
    if "hospital" in outcome.report_paths:
        print(
            f"  failing records by row (hospital only): {outcome.report_paths['hospital']}",
            file=out,
        )
    if "data_docs" in outcome.report_paths:
        print(
            f"  GX data docs (hospital only, may show values): {outcome.report_paths['data_docs']}",
            file=out,
        )


def run(args: argparse.Namespace) -> int:
    """Handler of ``aanlevering validate``."""
    if args.regenerate_suites or args.check_suites:
        return _suites(args, sys.stdout)
    return _validate(args, sys.stdout)
