"""Deterministic, realistic demo EHR extracts for the registrations of the catalogue.

``generate_demo_data(catalogue, DemoOptions(out_dir, patients, seed))`` writes,
per registration, CSV exports (UTF-8 with BOM and cp1252), a FHIR R4 Bulk
Data export folder and FHIR Bundles, plus ``bad-rows.json`` (which records
were spoilt on purpose, and how), ``optouts.csv`` with FHIR Consents, and a
``demo-data.json`` summary. The CLI is ``aanlevering demo-data``; the layout
and formats are described in docs/demo-data.md.
"""

from __future__ import annotations

from aanlevering.demo.generator import (
    BAD_ROWS_FILE,
    SUMMARY_FILE,
    DemoOptions,
    DemoResult,
    RegistrationOutput,
    generate_demo_data,
)

__all__ = [
    "BAD_ROWS_FILE",
    "SUMMARY_FILE",
    "DemoOptions",
    "DemoResult",
    "RegistrationOutput",
    "generate_demo_data",
]
