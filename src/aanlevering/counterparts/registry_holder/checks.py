"""What the reference registry holder checks before it receipts a delivery."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aanlevering.counterparts.registry_holder.closure import Closure
from aanlevering.deliver.manifest import Manifest, verify_files

BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
#: Resources validated per file with the R4B models; the rest are counted only.
VALIDATE_LIMIT = 5000


def _ndjson(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, json.loads(line)


def _validate_resource(resource: dict[str, Any]) -> str | None:
    from fhir.resources.R4B import get_fhir_model_class

    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return "resource without resourceType"
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except (ValueError, TypeError) as error:  # pydantic's ValidationError is a ValueError
        return f"{resource_type} invalid: {str(error).splitlines()[0]}"
    if resource_type == "Patient":
        for identifier in resource.get("identifier", ()):
            if identifier.get("system") == BSN_SYSTEM:
                return "Patient carries a BSN identifier: identifiers must be pseudonymised"
        if resource.get("name") or resource.get("telecom"):
            return "Patient carries name or telecom: must be removed before delivery"
        if not all(_is_pc4_only(address) for address in resource.get("address") or ()):
            return (
                "Patient carries an address beyond a 4-digit postal code: "
                "must be generalised before delivery"
            )
    return None


def _is_pc4_only(address: object) -> bool:
    """An address that is only the 4 digits of a Dutch postal code (the generalised form)."""
    if not isinstance(address, dict) or set(address) - {"postalCode", "use"}:
        return False
    code = address.get("postalCode")
    return isinstance(code, str) and len(code) == 4 and code.isdigit()


def _fhir_problems(path: Path, closure: Closure) -> tuple[int, list[str]]:
    problems: list[str] = []
    count = 0
    if path.suffix == ".ndjson":
        try:
            for number, resource in _ndjson(path):
                count += 1
                closure.add(resource, f"{path.name} line {number}")
                if count <= VALIDATE_LIMIT and (problem := _validate_resource(resource)):
                    problems.append(f"{path.name} line {number}: {problem}")
        except json.JSONDecodeError as error:
            problems.append(f"{path.name}: malformed JSON line {error.lineno}")
        return count, problems
    bundle = json.loads(path.read_text(encoding="utf-8"))
    if bundle.get("resourceType") != "Bundle":
        return 0, [f"{path.name}: not a Bundle"]
    for index, entry in enumerate(bundle.get("entry", ())):
        count += 1
        resource = entry.get("resource", {})
        closure.add(resource, f"{path.name} entry {index}", entry.get("fullUrl"))
        if count <= VALIDATE_LIMIT and (problem := _validate_resource(resource)):
            problems.append(f"{path.name} entry {index}: {problem}")
    return count, problems


def _csv_records(path: Path) -> int:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        delimiter = ";" if sample.count(";") >= sample.count(",") else ","
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        return sum(1 for _ in reader)


def check_delivery(folder: Path, manifest: Manifest) -> list[str]:
    """Every problem that makes the delivery unacceptable (empty list: receipt it).

    FHIR deliveries must also be closed: every reference resolves inside the delivery.
    """
    problems = verify_files(folder, manifest)
    if problems:
        return problems
    closure = Closure()
    for item in manifest.files:
        path = folder / item.name
        if item.name.endswith((".ndjson", ".json")):
            count, fhir_problems = _fhir_problems(path, closure)
            problems.extend(fhir_problems[:20])
        elif item.name.endswith(".csv"):
            count = _csv_records(path)
        else:
            problems.append(f"{item.name}: unsupported file type")
            continue
        if count != item.records:
            problems.append(f"{item.name}: {count} records, manifest says {item.records}")
    problems.extend(closure.problems())
    for report in manifest.reports:
        problems.extend(_report_problems(folder / report.name, report.media_type, manifest))
    return problems


def _inner(report: dict[str, Any], section: str, key: str) -> object:
    value = report.get(section)
    return value.get(key) if isinstance(value, dict) else None


#: What a validation report travelling with a delivery may be, by file name suffix.
REPORT_MEDIA_TYPES = {".json": "application/json", ".html": "text/html"}


def _report_problems(path: Path, media_type: str, manifest: Manifest) -> list[str]:
    """A report must be the validation report of this very delivery (counts only)."""
    expected = REPORT_MEDIA_TYPES.get(path.suffix)
    if expected is None or not media_type.startswith(expected):
        return [f"{path.name}: a report must be JSON or HTML, got {media_type!r}"]
    return _json_report_problems(path, manifest) if expected == "application/json" else []


def _json_report_problems(path: Path, manifest: Manifest) -> list[str]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return [f"{path.name}: not valid JSON ({type(error).__name__})"]
    if not isinstance(report, dict) or report.get("report") != "aanlevering validation report":
        return [f"{path.name}: not a validation report"]
    named = _inner(report, "registration", "id"), _inner(report, "period", "label")
    if named != (manifest.registration, manifest.period):
        return [
            f"{path.name}: the report is for {named[0]!r} {named[1]!r}, "
            f"the delivery for {manifest.registration!r} {manifest.period!r}"
        ]
    provider = _inner(report, "provider", "id")
    if provider != manifest.provider_id:
        return [f"{path.name}: the report names provider {provider!r}, not the deliverer"]
    return []


def summarise(problems: list[str]) -> str:
    """One readable string for an HTTP error body or a rejection file."""
    buffer = io.StringIO()
    for problem in problems:
        buffer.write(f"- {problem}\n")
    return buffer.getvalue()
