"""What goes to the TTP and what comes back, as small frozen objects.

Results carry what an event needs (request ids, TTP batch ids, key versions,
counts); every ``repr`` shows counts and types only, never a digest, a
ciphertext or a label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aanlevering.pseudonym_types import PseudonymType

_MRN = PseudonymType.MRN.value


@dataclass(frozen=True, repr=False)
class PseudonymInputs:
    """One person's inputs for web mode: source digest per type, optional MRN ciphertext."""

    ref: str
    digests: Mapping[str, str]
    mrn_ciphertext: str | None = None

    def __repr__(self) -> str:
        return f"PseudonymInputs(ref={self.ref!r}, types={sorted(self.types)})"

    @property
    def types(self) -> frozenset[str]:
        """Pseudonym types this record asks for."""
        codes = {str(code) for code in self.digests}
        if self.mrn_ciphertext is not None:
            codes.add(_MRN)
        return frozenset(codes)


@dataclass(frozen=True, repr=False)
class RecordPseudonyms:
    """Pseudonym labels of one record, by type (the registry holder's exchange input)."""

    ref: str
    pseudonyms: Mapping[str, str]

    def __repr__(self) -> str:
        return f"RecordPseudonyms(ref={self.ref!r}, types={sorted(self.pseudonyms)})"


@dataclass(frozen=True)
class BatchReceipt:
    """One call to the TTP: the ids an event needs to point at it."""

    request_id: str
    batch_id: str
    records: int
    key_versions: tuple[int, ...]


@dataclass(frozen=True, repr=False)
class PseudonymResult:
    """Labels per ref and type for a whole run, with the batches that made them."""

    registration: str
    kind: str
    pseudonyms: Mapping[str, Mapping[str, str]]
    key_versions: frozenset[int]
    batches: tuple[BatchReceipt, ...]
    type_counts: Mapping[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"PseudonymResult({self.kind}, registration={self.registration!r}, "
            f"records={len(self.pseudonyms)}, types={dict(self.type_counts)}, "
            f"key_versions={sorted(self.key_versions)}, batches={len(self.batches)})"
        )


@dataclass(frozen=True)
class TTPHealth:
    """Answer of GET /health."""

    status: str
    service: str
    version: str


class SourceColumns(Protocol):
    """What :func:`inputs_from_columns` needs of a source-step batch (``SourceBatch``)."""

    @property
    def num_rows(self) -> int:
        """Rows in the batch."""

    @property
    def values(self) -> Mapping[PseudonymType, Sequence[str | None]]:
        """Per type one digest (MRN: ciphertext) per row, None where it failed."""


def inputs_from_columns(batch: SourceColumns, refs: Sequence[str]) -> list[PseudonymInputs]:
    """Records for ``TTPClient.temporary_pseudonyms`` from the source step's columns.

    ``refs[i]`` is the reference of row ``i`` (never an identifier). Rows
    without any value are left out: the TTP would refuse them, and the source
    step has already reported why they have none.
    """
    if len(refs) != batch.num_rows:
        raise ValueError(f"{len(refs)} refs for {batch.num_rows} rows")
    columns = {str(ptype): column for ptype, column in batch.values.items() if ptype != _MRN}
    mrn = batch.values.get(PseudonymType.MRN)
    records = []
    for row, ref in enumerate(refs):
        digests: dict[str, str] = {}
        for code, column in columns.items():
            value = column[row]
            if value:
                digests[code] = value
        ciphertext = (mrn[row] if mrn is not None else None) or None
        if digests or ciphertext:
            records.append(PseudonymInputs(ref, digests, ciphertext))
    return records
