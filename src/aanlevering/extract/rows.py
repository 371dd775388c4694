"""Row-aligned clinical and identity tables while a dataset is being built.

CSV batches and FHIR resources both end up here, so period selection and
relation restriction are written once. Type problems are kept as one Arrow
array of row references per variable, so filtering a million rows stays
vectorised; they become :class:`TypeProblem` objects only at the end.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import IDENTITY_FIELDS, Dataset
from aanlevering.extract.model import ARROW_TYPES, ExtractedDataset, TypeProblem

ArrayLike: TypeAlias = pa.Array | pa.ChunkedArray


@dataclass(frozen=True)
class ProblemGroup:
    """Rows whose ``variable`` did not parse as ``expected``."""

    variable: str
    expected: str
    row_refs: ArrayLike


#: (record row_ref, location of a linked resource of another patient), decision 0570.
OTHER_PATIENT_SCHEMA = pa.schema([("record", pa.string()), ("location", pa.string())])


def no_other_patient_links() -> pa.Table:
    """No linked resource of another patient (CSV input, or none found)."""
    return OTHER_PATIENT_SCHEMA.empty_table()


@dataclass(frozen=True)
class Rows:
    """Some records of one dataset: clinical and identity tables, row references, problems.

    ``other_patient``: per record the linked resources of another patient that
    were left out (FHIR only, decision 0570); they go with their record when
    records are filtered, so only records of the extract are reported.
    """

    clinical: pa.Table
    identity: pa.Table
    row_refs: ArrayLike
    problems: tuple[ProblemGroup, ...] = ()
    other_patient: pa.Table = field(default_factory=no_other_patient_links)

    @property
    def num_rows(self) -> int:
        """Records held."""
        return int(self.clinical.num_rows)

    def filter(self, mask: ArrayLike) -> Rows:
        """Only the records where ``mask`` is true; problems of dropped records go too."""
        kept_refs = pc.filter(self.row_refs, mask)
        problems = []
        for group in self.problems:
            still = pc.filter(group.row_refs, pc.is_in(group.row_refs, value_set=kept_refs))
            if len(still):
                problems.append(ProblemGroup(group.variable, group.expected, still))
        others = self.other_patient
        if others.num_rows:
            others = others.filter(pc.is_in(others.column("record"), value_set=kept_refs))
        return Rows(
            clinical=self.clinical.filter(mask),
            identity=self.identity.filter(mask),
            row_refs=kept_refs,
            problems=tuple(problems),
            other_patient=others,
        )


def clinical_schema(dataset: Dataset) -> pa.Schema:
    """Arrow schema of a dataset's clinical table: every variable, in dictionary order."""
    return pa.schema([(v.name, ARROW_TYPES[v.type]) for v in dataset.variables])


def identity_schema() -> pa.Schema:
    """Arrow schema of every identity table: all identity fields as strings."""
    return pa.schema([(name, pa.string()) for name in IDENTITY_FIELDS])


def identity_table(columns: Mapping[str, ArrayLike], length: int) -> pa.Table:
    """The identity table with every identity field; unmapped fields are null."""
    arrays = [
        columns[name] if name in columns else pa.nulls(length, pa.string())
        for name in IDENTITY_FIELDS
    ]
    return pa.Table.from_arrays(arrays, schema=identity_schema())


def empty_rows(dataset: Dataset) -> Rows:
    """No records (a dataset whose source files hold none in the period)."""
    return Rows(
        clinical=clinical_schema(dataset).empty_table(),
        identity=identity_schema().empty_table(),
        row_refs=pa.array([], pa.string()),
    )


def concat_rows(dataset: Dataset, parts: Sequence[Rows]) -> Rows:
    """One Rows from several batches, in order."""
    if not parts:
        return empty_rows(dataset)
    if len(parts) == 1:
        return parts[0]
    merged: dict[tuple[str, str], list[ArrayLike]] = {}
    for part in parts:
        for group in part.problems:
            merged.setdefault((group.variable, group.expected), []).append(group.row_refs)
    return Rows(
        clinical=pa.concat_tables([p.clinical for p in parts]),
        identity=pa.concat_tables([p.identity for p in parts]),
        row_refs=pa.chunked_array(
            [_chunks(p.row_refs) for p in parts], type=pa.string()
        ).combine_chunks(),
        problems=tuple(
            ProblemGroup(variable, expected, pa.concat_arrays([_chunks(a) for a in arrays]))
            for (variable, expected), arrays in merged.items()
        ),
        other_patient=pa.concat_tables([p.other_patient for p in parts]),
    )


def _chunks(array: ArrayLike) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _natural(location: str) -> list[str | int]:
    """``Observation.ndjson:9`` before ``Observation.ndjson:10`` (numbers compared as numbers)."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", location)]


def other_patient_pairs(rows: Rows) -> tuple[tuple[str, str], ...]:
    """Each (record, linked resource) once, in record order, then by location.

    Both FHIR readers find the same pairs in different orders; this order is
    the one both hand over (decision 0570).
    """
    others = rows.other_patient
    if not others.num_rows:
        return ()
    position = {ref: at for at, ref in enumerate(_chunks(rows.row_refs).to_pylist())}
    pairs = set(
        zip(
            others.column("record").to_pylist(),
            others.column("location").to_pylist(),
            strict=True,
        )
    )
    return tuple(sorted(pairs, key=lambda p: (position.get(p[0], -1), _natural(p[1]))))


def to_dataset(
    dataset: Dataset,
    rows: Rows,
    *,
    source_files: Sequence[str],
    rows_outside_period: int,
    rows_before_period: int = 0,
    orphan_row_refs: Sequence[str] = (),
) -> ExtractedDataset:
    """The public, immutable form handed to the next stages."""
    order = {name: i for i, name in enumerate(dataset.variable_names)}
    groups = sorted(rows.problems, key=lambda g: order.get(g.variable, len(order)))
    problems = tuple(
        TypeProblem(row_ref=ref, variable=group.variable, expected=group.expected)
        for group in groups
        for ref in _chunks(group.row_refs).to_pylist()
    )
    return ExtractedDataset(
        name=dataset.name,
        clinical=rows.clinical,
        identity=rows.identity,
        row_refs=_chunks(rows.row_refs),
        type_problems=problems,
        source_files=tuple(source_files),
        rows_outside_period=rows_outside_period,
        rows_before_period=rows_before_period,
        orphan_row_refs=tuple(orphan_row_refs),
        other_patient_links=other_patient_pairs(rows),
    )
