"""Extract EHR data (CSV exports, FHIR bulk export and Bundles) into Arrow tables.

Public entry points: :func:`extract` (chooses CSV or FHIR from the input),
:func:`extract_csv`, :func:`extract_fhir` and, for pulling a bulk export
from a FHIR server, :func:`aanlevering.extract.bulk_client.bulk_export`. See
docs/extract.md.
"""

from __future__ import annotations

from aanlevering.extract.api import detect_source_kind, extract
from aanlevering.extract.csv import extract_csv
from aanlevering.extract.fhir import extract_fhir
from aanlevering.extract.model import ARROW_TYPES, Extract, ExtractedDataset, TypeProblem
from aanlevering.extract.options import ExtractOptions

__all__ = [
    "ARROW_TYPES",
    "Extract",
    "ExtractOptions",
    "ExtractedDataset",
    "TypeProblem",
    "detect_source_kind",
    "extract",
    "extract_csv",
    "extract_fhir",
]
