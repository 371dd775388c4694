"""The hospital's own report of a run: which records failed what, by row reference only.

``hospital-report.json`` sits next to the registry holder's report and the GX
data docs, and, like the data docs, is never delivered. It answers the
hospital's follow-up question "which records must we fix?" without values:
failing identity fields (see :mod:`aanlevering.validate.identity`) and, once
the run has pseudonymised, the records whose pseudonyms could not be made,
per type and reason, as ``file:line`` (CSV) or resource location (FHIR).
Which identifier failed for which record is said here and only here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aanlevering.validate.identity import IdentityFinding

HOSPITAL_REPORT = "hospital-report.json"


def write_hospital_report(
    report_dir: Path,
    *,
    registration: str,
    period: str,
    identity: Sequence[IdentityFinding],
    sections: Mapping[str, Any] | None = None,
) -> Path:
    """Write (or extend) ``hospital-report.json``; returns its path.

    ``sections`` adds or replaces top-level sections of an existing report of
    the same registration and period (the pseudonymisation stage adds its
    failures after validation wrote the identity section).
    """
    path = Path(report_dir) / HOSPITAL_REPORT
    document: dict[str, Any] = {
        "report": "aanlevering hospital report (not for delivery)",
        "registration": registration,
        "period": period,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "identity": [finding.hospital_view() for finding in identity],
    }
    document.update(sections or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def add_sections(report_dir: Path, sections: Mapping[str, Any]) -> Path:
    """Add sections to the hospital report validation wrote (a fresh one if there is none)."""
    path = Path(report_dir) / HOSPITAL_REPORT
    document: dict[str, Any] = {}
    if path.is_file():
        loaded = json.loads(path.read_text(encoding="utf-8"))
        document = loaded if isinstance(loaded, dict) else {}
    document.update(sections)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
