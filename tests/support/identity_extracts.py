"""Small extracts of identity rows only, for the checks that compare a patient's rows.

Why: the one-BSN (decision 1015) and one-person (1018) checks read the
identity tables of an extract's datasets; their tests build the same
one-period extract around the rows they compare.
"""

from __future__ import annotations

import pyarrow as pa

from aanlevering.extract.model import Extract, ExtractedDataset
from aanlevering.periods import Period


def identity_dataset(name: str, identity: pa.Table) -> ExtractedDataset:
    """A dataset of ``identity`` rows, each with one clinical value and a row reference."""
    return ExtractedDataset(
        name=name,
        clinical=pa.table({"x": pa.array([1] * identity.num_rows)}),
        identity=identity,
        row_refs=pa.array([f"{name}:{i}" for i in range(identity.num_rows)]),
    )


def identity_extract(*datasets: ExtractedDataset) -> Extract:
    """A CSV extract of dica-dsaa for 2026-Q1 holding ``datasets``."""
    return Extract(
        registration_id="dica-dsaa",
        period=Period.parse("2026-Q1"),
        source_kind="csv",
        datasets={d.name: d for d in datasets},
    )
