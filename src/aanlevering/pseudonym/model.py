"""The pseudonyms of a person as the pseudonymisation step hands them to delivery.

The TTP client produces these; the FHIR and CSV output consume them. A whole
run's pseudonyms travel as a :class:`PseudonymTable` (Arrow columns, one per
type); single persons as :class:`PatientPseudonyms`. A person
may have several pseudonyms side by side (one per approved type); a type that
could not be computed for a person (no birth name, no postcode) is simply
absent, and the caller reports that failure.

``PatientPseudonyms.patient_id`` is the source's patient number: an identifier
that must never be delivered or logged, so the ``repr`` leaves it out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.pseudonym_types import PseudonymType


@dataclass(frozen=True, slots=True)
class Pseudonym:
    """One pseudonym of one person.

    ``temporary``: a web-mode pseudonym that the registry holder still has to
    exchange for a definitive one at the TTP. ``key_version``: the version of
    the registration's key it was made with (keys rotate). ``profile``: the
    normalisation profile its input was normalised with (e.g. ``nl-2026.1``).
    """

    type: PseudonymType
    value: str
    key_version: int
    temporary: bool
    profile: str


@dataclass(frozen=True, slots=True, repr=False)
class PatientPseudonyms:
    """All pseudonyms computed for one source patient, at most one per type."""

    patient_id: str
    pseudonyms: tuple[Pseudonym, ...]

    def get(self, type_: PseudonymType) -> Pseudonym | None:
        """The pseudonym of this type, or None when it could not be computed."""
        for pseudonym in self.pseudonyms:
            if pseudonym.type == type_:
                return pseudonym
        return None

    @property
    def types(self) -> tuple[PseudonymType, ...]:
        """The types present, in the order given."""
        return tuple(pseudonym.type for pseudonym in self.pseudonyms)

    def __repr__(self) -> str:
        types = ",".join(str(type_) for type_ in self.types)
        return f"PatientPseudonyms(patient_id=<hidden>, types=[{types}])"


@dataclass(frozen=True)
class PseudonymColumn:
    """One pseudonym type for every patient of a :class:`PseudonymTable`.

    ``values`` holds the label (or, in local mode, the source digest) per
    patient row, null where the type could not be computed; ``key_versions``
    the key version per row (null where ``values`` is null). ``temporary`` and
    ``profile`` are the same for every pseudonym of a type in one run.
    """

    type: PseudonymType
    values: pa.Array
    key_versions: pa.Array
    temporary: bool
    profile: str


class PseudonymTable(Mapping[str, PatientPseudonyms]):
    """The pseudonyms of all patients of a run, one Arrow column per type.

    Why columns: a hospital run holds a million patients with four pseudonyms
    each; as Python objects that is five million objects and gigabytes of
    memory, as Arrow arrays it is a few hundred megabytes that the output can
    turn into text without touching each patient in Python. It is still a
    ``Mapping[str, PatientPseudonyms]`` (built per patient on demand), so code
    that looks up one person at a time keeps working.
    """

    def __init__(self, patient_ids: pa.Array, columns: Sequence[PseudonymColumn]) -> None:
        if isinstance(patient_ids, pa.ChunkedArray):
            patient_ids = patient_ids.combine_chunks()
        rows = len(patient_ids)
        types = [column.type for column in columns]
        if len(set(types)) != len(types):
            raise ValueError("a pseudonym table has at most one column per type")
        for column in columns:
            if len(column.values) != rows or len(column.key_versions) != rows:
                raise ValueError(
                    f"pseudonym column {column.type}: {len(column.values)} values and "
                    f"{len(column.key_versions)} key versions for {rows} patients"
                )
        self.patient_ids: pa.Array = patient_ids.cast(pa.string())
        self.columns: tuple[PseudonymColumn, ...] = tuple(
            PseudonymColumn(
                c.type,
                _combined(c.values).cast(pa.string()),
                _combined(c.key_versions).cast(pa.int64()),
                c.temporary,
                c.profile,
            )
            for c in columns
        )
        self._index: dict[str, int] | None = None
        self._lists: list[tuple[PseudonymColumn, list[str | None], list[int | None]]] | None = None

    # -- Mapping --------------------------------------------------------------------------

    def _row_index(self) -> dict[str, int]:
        if self._index is None:
            ids = self.patient_ids.to_pylist()
            index = {patient: row for row, patient in enumerate(ids)}
            if len(index) != len(ids) or None in index:
                raise ValueError("patient numbers of a pseudonym table must be unique and present")
            self._index = index
        return self._index

    def __getitem__(self, patient_id: str) -> PatientPseudonyms:
        row = self._row_index()[patient_id]
        if self._lists is None:
            self._lists = [
                (c, c.values.to_pylist(), c.key_versions.to_pylist()) for c in self.columns
            ]
        pseudonyms = []
        for column, values, versions in self._lists:
            value = values[row]
            if value is not None:
                version = versions[row]
                pseudonyms.append(
                    Pseudonym(
                        column.type,
                        value,
                        int(version) if version is not None else 0,
                        column.temporary,
                        column.profile,
                    )
                )
        return PatientPseudonyms(patient_id, tuple(pseudonyms))

    def __iter__(self) -> Iterator[str]:
        return iter(self._row_index())

    def __len__(self) -> int:
        return len(self.patient_ids)

    def __contains__(self, patient_id: object) -> bool:
        return patient_id in self._row_index()

    def __repr__(self) -> str:
        types = ",".join(str(c.type) for c in self.columns)
        return f"PseudonymTable(patients={len(self)}, types=[{types}])"

    # -- columnar use ---------------------------------------------------------------------

    @property
    def types(self) -> tuple[PseudonymType, ...]:
        """The types that have a column, in column order."""
        return tuple(column.type for column in self.columns)

    def column(self, type_: PseudonymType) -> PseudonymColumn | None:
        """The column of one type, or None when no patient has that type."""
        for column in self.columns:
            if column.type == type_:
                return column
        return None

    def rows_of(self, patient_ids: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Row of each given patient number in this table (null where it has none)."""
        return pc.index_in(patient_ids, value_set=self.patient_ids)

    def take(self, rows: pa.Array) -> PseudonymTable:
        """The table restricted to (and ordered by) ``rows``."""
        return PseudonymTable(
            self.patient_ids.take(rows),
            [
                PseudonymColumn(
                    c.type, c.values.take(rows), c.key_versions.take(rows), c.temporary, c.profile
                )
                for c in self.columns
            ],
        )

    @classmethod
    def concat(cls, tables: Sequence[PseudonymTable]) -> PseudonymTable:
        """One table of several (chunks of one run), columns aligned by type.

        A type missing from a chunk (no patient of it had one) is null there.
        Raises ValueError when one type differs in status or profile.
        """
        order: list[PseudonymType] = []
        labels: dict[PseudonymType, tuple[bool, str]] = {}
        for table in tables:
            for column in table.columns:
                label = (column.temporary, column.profile)
                if labels.setdefault(column.type, label) != label:
                    raise ValueError(
                        f"pseudonyms of type {column.type} differ in status or profile"
                    )
                if column.type not in order:
                    order.append(column.type)
        columns = []
        for type_ in order:
            values: list[pa.Array] = []
            versions: list[pa.Array] = []
            for table in tables:
                found = table.column(type_)
                if found is None:
                    values.append(pa.nulls(len(table), pa.string()))
                    versions.append(pa.nulls(len(table), pa.int64()))
                else:
                    values.append(found.values)
                    versions.append(found.key_versions)
            temporary, profile = labels[type_]
            columns.append(
                PseudonymColumn(
                    type_,
                    pa.chunked_array(values, pa.string()).combine_chunks(),
                    pa.chunked_array(versions, pa.int64()).combine_chunks(),
                    temporary,
                    profile,
                )
            )
        ids = [table.patient_ids for table in tables]
        return cls(pa.chunked_array(ids, pa.string()).combine_chunks(), columns)

    # -- hand-over between processes ------------------------------------------------------

    def to_arrow(self) -> pa.Table:
        """One Arrow table (``patient_id``, ``<TYPE>``, ``<TYPE>.key_version`` per type).

        Why: the Airflow path hands pseudonyms from the pseudonymise task to the
        output task as one IPC file, in the same columnar shape the in-process
        path keeps, so both run the same fast output code. Status and profile
        per type travel in the schema metadata.
        """
        arrays: list[pa.Array] = [self.patient_ids]
        names = ["patient_id"]
        meta: dict[str, dict[str, object]] = {}
        for column in self.columns:
            arrays += [column.values, column.key_versions]
            names += [str(column.type), f"{column.type}.key_version"]
            meta[str(column.type)] = {"temporary": column.temporary, "profile": column.profile}
        table = pa.Table.from_arrays(arrays, names=names)
        return table.replace_schema_metadata({"aanlevering.pseudonym_types": json.dumps(meta)})

    @classmethod
    def from_arrow(cls, table: pa.Table) -> PseudonymTable:
        """The table :meth:`to_arrow` wrote; ValueError when the metadata is missing."""
        raw = (table.schema.metadata or {}).get(b"aanlevering.pseudonym_types")
        if raw is None:
            raise ValueError("not a pseudonym table: no aanlevering.pseudonym_types metadata")
        labels: dict[str, dict[str, object]] = json.loads(raw)
        columns = [
            PseudonymColumn(
                PseudonymType(name),
                table.column(name).combine_chunks(),
                table.column(f"{name}.key_version").combine_chunks(),
                bool(label["temporary"]),
                str(label["profile"]),
            )
            for name, label in labels.items()
        ]
        return cls(table.column("patient_id").combine_chunks(), columns)

    @classmethod
    def from_patients(cls, patients: Iterable[PatientPseudonyms]) -> PseudonymTable:
        """A table from per-person objects (tests, persisted runs); one column per type seen.

        Raises ValueError when one type mixes temporary and final pseudonyms
        or normalisation profiles: a run never does.
        """
        people = list(patients)
        order: list[PseudonymType] = []
        labels: dict[PseudonymType, tuple[bool, str]] = {}
        for person in people:
            for pseudonym in person.pseudonyms:
                label = (pseudonym.temporary, pseudonym.profile)
                known = labels.setdefault(pseudonym.type, label)
                if known != label:
                    raise ValueError(
                        f"pseudonyms of type {pseudonym.type} differ in status or profile"
                    )
                if pseudonym.type not in order:
                    order.append(pseudonym.type)
        columns = []
        for type_ in order:
            values: list[str | None] = []
            versions: list[int | None] = []
            for person in people:
                found = person.get(type_)
                values.append(found.value if found else None)
                versions.append(found.key_version if found else None)
            temporary, profile = labels[type_]
            columns.append(
                PseudonymColumn(
                    type_,
                    pa.array(values, pa.string()),
                    pa.array(versions, pa.int64()),
                    temporary,
                    profile,
                )
            )
        return cls(pa.array([p.patient_id for p in people], pa.string()), columns)


def _combined(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
