"""One entry point for the delivery step: write a delivery in its registration's format."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from aanlevering.errors import OutputError
from aanlevering.fhir.validate import SamplePolicy
from aanlevering.output.bundle import DEFAULT_MAX_ENTRIES, write_bundles
from aanlevering.output.content import DeliveryInput, OutputFormat
from aanlevering.output.csv import CsvOptions, write_csv
from aanlevering.output.ndjson import write_ndjson
from aanlevering.output.record_keys import hash_record_keys
from aanlevering.output.result import OutputResult


def write_delivery(
    folder: Path,
    content: DeliveryInput,
    format: OutputFormat,
    *,
    policy: SamplePolicy | None = None,
    csv_options: CsvOptions | None = None,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> OutputResult:
    """Write ``content`` into ``folder`` as ``format`` (``RegistrationConfig.delivery.format``).

    ``folder`` is the staging folder of this delivery; the manifest is written
    afterwards by :mod:`aanlevering.deliver.manifest` from the result. Key
    variables are hashed first when the context has record keys.
    """
    keys = content.context.record_keys
    if keys is not None:
        hashed = hash_record_keys(content.datasets, content.context.dictionary, keys)
        content = replace(content, datasets=hashed)
    if format == "csv":
        return write_csv(folder, content, csv_options)
    if format == "fhir-ndjson":
        return write_ndjson(folder, content, policy)
    if format == "fhir-bundle":
        return write_bundles(folder, content, policy, max_entries)
    raise OutputError(f"unknown delivery format {format!r}")
