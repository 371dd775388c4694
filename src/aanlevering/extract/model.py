"""What an extract hands to the next stages.

Clinical values and identity are kept in separate, row-aligned tables so a
stage that must not see identifiers (validation reports, delivery) never gets
them by accident; rows are referred to by a non-identifying ``row_ref``
(source file name and line number).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from aanlevering.periods import Period

if TYPE_CHECKING:
    from aanlevering.extract.fhir_texts import KeptSources

#: Arrow type of each dictionary variable type.
ARROW_TYPES: Mapping[str, pa.DataType] = {
    "string": pa.string(),
    "code": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("s"),
    "boolean": pa.bool_(),
}


@dataclass(frozen=True)
class TypeProblem:
    """A value that did not parse as its variable's type (the value itself is not kept)."""

    row_ref: str
    variable: str
    expected: str


@dataclass(frozen=True)
class ExtractedDataset:
    """One dataset of the dictionary, restricted to the delivery period.

    ``clinical``: one column per dictionary variable (generalised variables
    such as ``geboortejaar`` included), typed with :data:`ARROW_TYPES`; values
    that failed to parse are null and listed in ``type_problems``.
    ``identity``: identity fields (strings; see ``IDENTITY_FIELDS``), same row
    order. ``row_refs``: e.g. ``dsaa_operaties_2026.csv:17``.
    ``rows_outside_period``: records of this dataset left out because they (or
    their parent record) fall outside the period. ``orphan_row_refs``: records
    of a related dataset whose parent record is not in the extract at all
    (left out too, listed so validation can report them).
    ``other_patient_links``: (row_ref of a record, location of a linked resource)
    for each FHIR resource linked to the record that names another patient: it
    was neither read nor kept for the record (decision 0570); locations only.
    """

    name: str
    clinical: pa.Table
    identity: pa.Table
    row_refs: pa.Array
    type_problems: tuple[TypeProblem, ...] = ()
    source_files: tuple[str, ...] = ()
    rows_outside_period: int = 0
    orphan_row_refs: tuple[str, ...] = ()
    #: How many of ``rows_outside_period`` lie before the period (the rest after it).
    rows_before_period: int = 0
    other_patient_links: tuple[tuple[str, str], ...] = ()

    @property
    def num_rows(self) -> int:
        """Records in the period."""
        return int(self.clinical.num_rows)

    @property
    def other_patient_resources(self) -> tuple[str, ...]:
        """Locations of the linked resources of another patient left out (each once, in order)."""
        return tuple(dict.fromkeys(location for _, location in self.other_patient_links))


@dataclass(frozen=True)
class Extract:
    """All datasets of one registration for one period."""

    registration_id: str
    period: Period
    source_kind: str  # "csv" | "fhir"
    datasets: Mapping[str, ExtractedDataset] = field(default_factory=dict)
    rows_outside_period: int = 0
    #: How many of ``rows_outside_period`` lie before the period (the rest after it).
    rows_before_period: int = 0
    #: FHIR sources: the resources each record's values were read from, cut to what the
    #: mappings read (rows in memory, texts on disk; see extract.fhir_texts). None for CSV.
    source_resources: KeptSources | None = None
    #: FHIR sources, per dataset: further copies of a record's resource (the first copy
    #: is read) and records entered in error, left out and counted (decision 0692).
    duplicates: Mapping[str, int] = field(default_factory=dict)
    entered_in_error: Mapping[str, int] = field(default_factory=dict)
