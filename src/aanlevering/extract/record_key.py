"""Source record ids for CSV exports that have none, from the columns that identify a record.

Many EHR exports carry no record id, while the dictionary needs a key (and a
related dataset needs to point at it). ``source.csv.datasets.<d>.record_keys``
names, per key or relation variable, the columns that together identify a
record (``[PATIENTNUMMER, OPERATIEDATUM]``). Their trimmed values are joined
and digested here (BLAKE2b-128, 32 hex digits), so the clinical table never
holds a patient number in the clear; on delivery the digest is replaced by a
keyed hash per registration and provider like any source id (decision 0181),
so what leaves cannot be recomputed by anyone without the hospital's secret.
The same values give the same digest in every file, which is what lets a
related dataset's relation variable find its parent record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.extract.rows import ArrayLike

_SEPARATOR = "\x1f"
_PERSON = b"aanlevering-rk1"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16, person=_PERSON).hexdigest()


def record_key_column(parts: Sequence[ArrayLike]) -> pa.Array:
    """The digest of each row's values of ``parts``; null where every part is empty."""
    texts = [pc.cast(p, pa.string()) for p in parts]
    joined = pc.binary_join_element_wise(
        *texts, _SEPARATOR, null_handling="replace", null_replacement=""
    )
    any_value = texts[0].is_valid()
    for text in texts[1:]:
        any_value = pc.or_(any_value, text.is_valid())
    joined = pc.if_else(any_value, joined, pa.scalar(None, pa.string()))
    flat = joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined
    distinct = pc.unique(pc.drop_null(flat))
    digests = pa.array([_digest(v) for v in distinct.to_pylist()], pa.string())
    return digests.take(pc.index_in(flat, value_set=distinct))
