"""Extract EHR data (CSV exports, FHIR bulk export and Bundles) into Arrow tables.

Public entry points: :func:`extract` (chooses CSV or FHIR from the input),
:func:`extract_csv`, :func:`extract_fhir` and, for pulling a bulk export
from a FHIR server, :func:`aanlevering.extract.bulk_client.bulk_export`. See
docs/extract.md.

The names are imported on first use (PEP 562): a process that only needs
:mod:`aanlevering.extract.model` (an Airflow task reading a run folder) does
not pay for the readers' imports (pandas among them, about 2 s).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOME = {
    "detect_source_kind": "api",
    "extract": "api",
    "extract_csv": "csv",
    "extract_fhir": "fhir",
    "ARROW_TYPES": "model",
    "Extract": "model",
    "ExtractedDataset": "model",
    "TypeProblem": "model",
    "ExtractOptions": "options",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module when it is first asked for."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
