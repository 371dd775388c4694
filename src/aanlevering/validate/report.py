"""The validation report for the registry holder: ``validation-report.json`` and ``.html``.

What it says: registration, period, dictionary version, provider type, record
counts, and per check a plain-language description, variable, severity,
pass/fail, element count, failing count and percentage, and the failing
records by ROW REFERENCE only (source file and line), at most the policy's
``row_detail_limit`` per check.

What it never says: names, BSN, MRN, birth dates, addresses, and not the
failing VALUES either; a value can identify a patient. The report is built
only from :class:`~aanlevering.validate.results.CheckResult` objects, which
carry no values, so there is nothing to filter out afterwards. The hospital's
own engineers get the values in the GX data docs, which stay in the hospital.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.periods import Period
from aanlevering.validate.decision import Decision
from aanlevering.validate.results import CheckResult, DatasetResult

REPORT_VERSION = 1
JSON_NAME = "validation-report.json"
HTML_NAME = "validation-report.html"


@dataclass(frozen=True)
class ReportContext:
    """Who and what the report is about."""

    config: RegistrationConfig
    period: Period
    provider_type: str
    provider_id: str
    source_kind: str
    generated_at: datetime


def _check(result: CheckResult, limit: int) -> dict[str, Any]:
    return {
        "rule_id": result.rule_id,
        "description": result.description,
        "variable": result.variable,
        "variables": list(result.variables),
        "kind": result.kind,
        "severity": result.severity,
        "passed": result.success,
        "element_count": result.element_count,
        "unexpected_count": result.unexpected_count,
        "unexpected_percent": result.unexpected_percent,
        "failing_rows": list(result.failing_row_refs[:limit]),
        "failing_rows_truncated": result.problem is None
        and result.unexpected_count > len(result.failing_row_refs[:limit]),
        "problem": result.problem,
        "note": result.note,
    }


def build_report(
    about: ReportContext,
    datasets: Sequence[DatasetResult],
    decision: Decision,
    counts: Mapping[str, int],
) -> dict[str, Any]:
    """The report as JSON-ready data (the HTML renders exactly this)."""
    config = about.config
    limit = config.validation.row_detail_limit
    return {
        "report": "aanlevering validation report",
        "report_version": REPORT_VERSION,
        "generated_at": about.generated_at.isoformat(timespec="seconds"),
        "registration": {"id": config.id, "name": config.name},
        "registry_holder": {"id": config.registry_holder_id, "name": config.registry_holder_name},
        "provider": {"id": about.provider_id, "type": about.provider_type},
        "period": {
            "label": about.period.label,
            "start": about.period.start.isoformat(),
            "end_exclusive": about.period.end.isoformat(),
        },
        "dictionary": {
            "id": config.dictionary.id,
            "name": config.dictionary.name,
            "version": config.dictionary.version,
        },
        "source_kind": about.source_kind,
        "counts": {
            "datasets": {
                d.name: {"rows": d.rows, "rows_outside_period": d.rows_outside_period}
                for d in datasets
            },
            **{key: int(value) for key, value in sorted(counts.items())},
        },
        "outcome": {
            "passed": decision.passed,
            "blocked": decision.blocked,
            "block_on": config.validation.block_on,
            "checks": decision.checks,
            "failed_errors": decision.failed_errors,
            "failed_warnings": decision.failed_warnings,
            "row_detail_limit": limit,
        },
        "datasets": [
            {
                "name": d.name,
                "rows": d.rows,
                "suite": d.suite,
                "suite_fingerprint": d.suite_fingerprint,
                "checks": [_check(c, limit) for c in d.checks],
            }
            for d in datasets
        ],
    }


@cache
def _template() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("aanlevering.validate", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("validation-report.html.j2")


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page (no scripts, no external assets)."""
    return str(_template().render(report=report))


@dataclass(frozen=True)
class WrittenReport:
    """Where the report went, and the hash of its JSON (recorded in the event log)."""

    json_path: Path
    html_path: Path
    json_sha256: str


def write_report(report: Mapping[str, Any], report_dir: Path) -> WrittenReport:
    """Write both files into ``report_dir`` (replacing an earlier run's)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    json_path = report_dir / JSON_NAME
    html_path = report_dir / HTML_NAME
    json_path.write_text(text, encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return WrittenReport(
        json_path=json_path,
        html_path=html_path,
        json_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def add_accounting(folder: Path, accounting: Mapping[str, Any]) -> bool:
    """Add the run's accounting, counts only, to the report copy in ``folder`` (both files).

    The copy that travels with a delivery is completed after pseudonymisation:
    the records in the source and where those not read went (second copies,
    entered in error, outside the period, orphans), records read, excluded by
    opt-out, patients, patients without each pseudonym type and without any,
    dropped and delivered, and per dataset the delivered records that moved from
    another period (0465) or cannot be followed across periods (0495), the
    periods not checked (0496) and the linked resources of another patient left
    out (0570): the registry holder's numbers add up to what was read (0691).
    No reasons, rows or values. Returns False when ``folder`` holds no report.
    """
    json_path = folder / JSON_NAME
    if not json_path.is_file():
        return False
    report = json.loads(json_path.read_text(encoding="utf-8"))
    failed = accounting.get("failed") or {}
    report["accounting"] = {
        # Every record of the source, so the holder's numbers add up to what was read
        # (decision 0691): records_in_source = duplicates + entered_in_error
        # + outside_before + outside_after + orphans + records_read.
        "records_in_source": int(accounting.get("records_in_source", 0)),
        "duplicates": _per_dataset(accounting.get("duplicates")),
        "entered_in_error": _per_dataset(accounting.get("entered_in_error")),
        "outside_before": int(accounting.get("outside_before", 0)),
        "outside_after": int(accounting.get("outside_after", 0)),
        "orphans": int(accounting.get("orphans", 0)),
        "records_read": int(accounting.get("records_read", 0)),
        "excluded_optout": int(accounting.get("excluded_optout", 0)),
        "patients": int(accounting.get("patients", 0)),
        "without_type": {str(t): int(v["patients"]) for t, v in failed.items()},
        "without_pseudonym": int(accounting.get("without_pseudonym", 0)),
        "dropped": int(accounting.get("dropped", 0)),
        "delivered": int(accounting.get("delivered", 0)),
        # Delivered records an earlier version of another period held (decision 0465).
        "moved_from": _per_dataset(accounting.get("moved_from")),
        # Delivered records no other period was checked for (decision 0495).
        "not_followable": _per_dataset(accounting.get("not_followable")),
        # Other periods whose held version recorded no record keys (decision 0496).
        "unchecked_periods": sorted(str(p) for p in accounting.get("unchecked_periods") or ()),
        # Linked resources of another patient, left out (decision 0570).
        "other_patient": _per_dataset(accounting.get("other_patient")),
    }
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / HTML_NAME).write_text(render_html(report), encoding="utf-8")
    return True


def _per_dataset(raw: Any) -> dict[str, int]:
    """A name -> count mapping of the accounting, sorted, counts as integers."""
    return {str(k): int(v) for k, v in sorted((raw or {}).items())}
