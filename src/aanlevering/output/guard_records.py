"""What a blocked output guard tells the hospital: variables, record counts, kinds, what to do.

The guard finds identifiers in the written files, per file and column; for a
file checked by its noted values (decision 0300) it counts distinct values,
not records. An engineer opening the EHR needs the variable and how many
records to look at, and for a kind that is easy to mistake for an ordinary
text ("Groot, A.": a family name with its initials, decision 0940) what it
is and how to clear it. Only on a blocked run are the extract's variables
read again, value by distinct value; counts, names of variables and kinds go
to the message and ``hospital-report.json`` (section ``output_guard``),
never a value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.phrases import FAMILY_INITIALS

if TYPE_CHECKING:
    from aanlevering.output.guard import Hit, RunIdentifiers

#: Where the README explains a blocked output guard and the way out.
README_SECTION = 'README, "A delivery blocked by the output guard"'
#: What the hospital can do, per kind; every kind gets the general advice.
GENERAL = (
    "an identifier of one of the run's patients is in a delivered variable: correct the "
    "text in the EHR, or leave the variable out of the registration's mapping"
)
WHAT_TO_DO: Mapping[str, str] = {
    FAMILY_INITIALS: (
        "a family name that is also an ordinary word or a short name, followed by initials "
        "of a patient so named (family name, initials: as letters and notes write a patient; "
        "decision 0940): that is the patient, correct the text in the EHR; a single a., v., "
        "n. or m. before an anatomical term the guard does not know, or a dotted "
        f"abbreviation it does not know, is no initial: write the term out ({README_SECTION})"
    ),
}


@dataclass(frozen=True)
class RecordHit:
    """How many records of a variable (``dataset.variable``) hold one kind of identifier."""

    variable: str
    kind: str
    records: int


def records_holding(
    datasets: Mapping[str, ExtractedDataset], identifiers: RunIdentifiers
) -> list[RecordHit]:
    """Per variable and kind, how many records hold an identifier of ``identifiers``.

    Each column's distinct values are checked once (the guard's coarse pass picks
    the candidates) and counted with their number of records.
    """
    found: list[RecordHit] = []
    for name, dataset in datasets.items():
        table = dataset.clinical
        for variable in table.column_names:
            try:
                column = pc.cast(table.column(variable), pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue  # no text (a list, a struct): the guard's kinds are text
            counted = pc.value_counts(pc.drop_null(column))
            if not len(counted):
                continue
            values = counted.field("values")
            numbers = counted.field("counts").to_pylist()
            kinds: Counter[str] = Counter()
            for index in identifiers.candidates(values):
                for kind in identifiers.kinds_in(values[index].as_py()):
                    kinds[kind] += numbers[index]
            found += [RecordHit(f"{name}.{variable}", k, n) for k, n in sorted(kinds.items())]
    return found


def advice(kinds: set[str]) -> str:
    """What to do, for the kinds found (the general advice, and each kind's own)."""
    return "; ".join([GENERAL, *(WHAT_TO_DO[k] for k in sorted(kinds) if k in WHAT_TO_DO)])


def shown(records: Sequence[RecordHit]) -> str:
    """The records part of the message: variable, kind, count."""
    return "; ".join(f"{r.variable}: {r.kind} in {r.records} record(s)" for r in records[:10])


def report_section(hits: Sequence[Hit], records: Sequence[RecordHit]) -> dict[str, Any]:
    """The ``output_guard`` section of ``hospital-report.json``: where, how many, what to do."""
    kinds = {h.kind for h in hits} | {r.kind for r in records}
    return {
        "blocked": True,
        "decisions": ["0411", "0940"],
        "files": [
            {"file": h.file, "column": h.column, "kind": h.kind, "values": h.values} for h in hits
        ],
        "records": [
            {"variable": r.variable, "kind": r.kind, "records": r.records} for r in records
        ],
        "what_to_do": {kind: WHAT_TO_DO.get(kind, GENERAL) for kind in sorted(kinds)},
        "see": README_SECTION,
    }
