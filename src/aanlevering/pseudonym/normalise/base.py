"""The port every normalisation profile implements, and what it returns.

The TTP's official normalisation rules are not public yet (DOMAIN.md, open
question). Callers therefore depend only on :class:`NormalisationProfile`
and pick a profile by version string through the registry; a TTP profile can
replace ours by registering under its own version.

Results hold canonical strings, which still identify a person (birth name,
birth date): their ``repr`` shows counts and type names only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

from aanlevering.errors import PseudonymisationError
from aanlevering.pseudonym.identifiers import PersonIdentifiers
from aanlevering.pseudonym.normalise.failures import NormalisationFailure
from aanlevering.pseudonym_types import PseudonymType

if TYPE_CHECKING:
    import pyarrow as pa

#: Columns by :class:`PersonIdentifiers` field name: Python lists, pyarrow
#: arrays, or a whole pyarrow table (e.g. an extract's identity table).
ColumnsInput: TypeAlias = "Mapping[str, Sequence[object] | pa.Array | pa.ChunkedArray] | pa.Table"


@dataclass(frozen=True, slots=True, repr=False)
class NormalisedPerson:
    """Canonical input strings of one person, per pseudonym type, and the types that failed."""

    profile_version: str
    canonical: Mapping[PseudonymType, str]
    failures: tuple[NormalisationFailure, ...] = ()

    def __repr__(self) -> str:
        made = ", ".join(sorted(self.canonical))
        failed = ", ".join(sorted({f.type for f in self.failures}))
        return f"NormalisedPerson(profile={self.profile_version}, made=[{made}], failed=[{failed}])"


@dataclass(frozen=True, slots=True, repr=False)
class CanonicalColumns:
    """Canonical input strings of a batch: one list per type, ``None`` where that row failed.

    ``failures`` has one entry per (row, type, field) that went wrong, in
    row order; the batch itself never raises for bad records.
    """

    profile_version: str
    num_rows: int
    values: Mapping[PseudonymType, Sequence[str | None]]
    failures: tuple[NormalisationFailure, ...] = ()

    def __repr__(self) -> str:
        types = ", ".join(sorted(self.values))
        return (
            f"CanonicalColumns(profile={self.profile_version}, rows={self.num_rows}, "
            f"types=[{types}], failures={len(self.failures)})"
        )

    def failed_rows(self, type_: PseudonymType | None = None) -> frozenset[int]:
        """Rows with at least one failure (for ``type_``, or for any type)."""
        return frozenset(
            f.row for f in self.failures if f.row is not None and type_ in (None, f.type)
        )

    def raise_for_failures(
        self,
        source: str | None = None,
        *,
        first_row: int = 1,
        column_names: Mapping[str, str] | None = None,
        limit: int = 20,
    ) -> None:
        """Raise :class:`PseudonymisationError` listing the first ``limit`` failures, if any.

        For callers that must not deliver a partial batch; the message names
        rows and columns, never values.
        """
        if not self.failures:
            return
        lines = [
            f.describe(source, first_row=first_row, column_names=column_names)
            for f in self.failures[:limit]
        ]
        more = len(self.failures) - len(lines)
        if more:
            lines.append(f"... and {more} more")
        raise PseudonymisationError(
            f"{len(self.failures)} normalisation failure(s) in "
            f"{len(self.failed_rows())} row(s):\n  " + "\n  ".join(lines)
        )


@runtime_checkable
class NormalisationProfile(Protocol):
    """Versioned rules that turn source identifiers into canonical pseudonym inputs.

    ``version`` travels with every pseudonym made from the profile's output,
    so it must change whenever any output could change.
    """

    @property
    def version(self) -> str:
        """Version string, e.g. ``nl-2026.1``."""
        ...

    @property
    def types(self) -> frozenset[PseudonymType]:
        """Pseudonym types this profile can make inputs for."""
        ...

    def normalise(
        self, person: PersonIdentifiers, types: Iterable[PseudonymType | str]
    ) -> NormalisedPerson:
        """Canonical inputs of one person for ``types``."""
        ...

    def normalise_columns(
        self, columns: ColumnsInput, types: Iterable[PseudonymType | str]
    ) -> CanonicalColumns:
        """Canonical inputs of a batch, given as columns by field name."""
        ...
