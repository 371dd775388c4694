"""How many rows a boolean Arrow mask selects, in one place.

Why: stages count rows by a mask (rows outside the period, blank keys, hits of
the output guard) and report the count to the hospital; spelt out at each
place (``int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)``) the null and
empty cases were handled by ``or 0`` each time. Nulls are not counted: a null
in a mask means "unknown", which no check reports as a hit.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def count_true(mask: pa.Array | pa.ChunkedArray) -> int:
    """The number of ``True`` values in ``mask`` (nulls and an empty mask count 0)."""
    return int(pc.sum(mask).as_py() or 0)
