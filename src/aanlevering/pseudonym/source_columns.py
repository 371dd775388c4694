"""The source step (:mod:`.source_step`) straight into Arrow columns, for the run's chunks.

Why: the run hands each type's values to the TTP client as Arrow columns.
:func:`~.source_step.apply_source_step` gives Python lists (one ``str`` per
digest, a ``hex()`` and a list slot per value, then a conversion to Arrow),
and pads and base64-encodes each MRN in Python. Here the HMAC of each value
is the only per-value Python left: the digests are joined and hex-encoded
in one call and laid out as a fixed-width string column; MRNs are padded,
sealed (:func:`~.siv_columns.siv_encrypt_rows`) and base64url-encoded a
padded length at a time in NumPy. The values are byte for byte those of
``apply_source_step`` (pinned by ``tests/unit/pseudonym/test_source_columns.py``);
anything unusual (a non-ASCII, empty, over-long or NUL-holding MRN) takes
the list path, which raises its own error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import ConfigError
from aanlevering.pseudonym.normalise.base import CanonicalColumns
from aanlevering.pseudonym.siv_columns import b64url_blocks, siv_encrypt_rows
from aanlevering.pseudonym.source_step import (
    MRN_PAD_BLOCK,
    MRN_PADDED_BYTES,
    MrnKey,
    SourceKey,
    _associated_data,
    _hasher_raw,
    encrypt_mrn_column,
)
from aanlevering.pseudonym_types import PseudonymType

_DIGEST_HEX = 64


@dataclass(frozen=True, slots=True, repr=False)
class SourceColumns:
    """:class:`~.source_step.SourceBatch` with each type's values as an Arrow string column."""

    registration: str
    profile_version: str
    num_rows: int
    values: Mapping[PseudonymType, pa.Array]
    key_versions: Mapping[PseudonymType, int]

    def __repr__(self) -> str:
        types = ", ".join(sorted(self.values))
        return (
            f"SourceColumns(registration={self.registration}, profile={self.profile_version}, "
            f"rows={self.num_rows}, types=[{types}])"
        )


def _fixed_width(text: bytes, count: int, width: int) -> pa.Array:
    """``count`` values of ``width`` ASCII characters each, back to back in ``text``."""
    offsets = np.arange(0, count * width + 1, width, dtype=np.int64)
    return pa.Array.from_buffers(
        pa.large_string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(text)]
    ).cast(pa.string())


def _in_rows(values: pa.Array, present: Sequence[int] | np.ndarray, rows: int) -> pa.Array:
    """``values`` (one per present row, in order) placed at their rows; null elsewhere."""
    if len(present) == rows:
        return values
    index = np.full(rows, -1, np.int64)
    index[np.asarray(present, np.int64)] = np.arange(len(present), dtype=np.int64)
    mask = index < 0
    return values.take(pa.array(np.where(mask, 0, index), mask=mask))


def hash_column_arrow(
    key: SourceKey, profile_version: str, type_: PseudonymType, canonical: Sequence[str | None]
) -> pa.Array:
    """:func:`~.source_step.hash_column` as a string column (null where the input is None)."""
    digest = _hasher_raw(key, profile_version, type_)
    present = [row for row, value in enumerate(canonical) if value is not None]
    raw = b"".join([digest(canonical[row]) for row in present])  # type: ignore[arg-type]
    column = _fixed_width(raw.hex().encode("ascii"), len(present), _DIGEST_HEX)
    return _in_rows(column, present, len(canonical))


def _b64url_column(rows: np.ndarray) -> pa.Array:
    """Unpadded base64url of every row of an ``(n, width)`` uint8 array, as a string column.

    As :func:`~.siv_columns.b64url_rows` (one encoding call), but the texts
    are cut out in NumPy.
    """
    count = len(rows)
    text, step, chars = b64url_blocks(rows)
    cut = np.frombuffer(text, np.uint8).reshape(count, step)[:, :chars]
    return _fixed_width(cut.tobytes(), count, chars)


def encrypt_mrn_arrow(
    key: MrnKey, registration: str, profile_version: str, canonical: Sequence[str | None]
) -> pa.Array:
    """:func:`~.source_step.encrypt_mrn_column` as a string column (null where None)."""
    column = pa.array(canonical, pa.string())
    present = pc.drop_null(column)
    lengths = pc.binary_length(present)
    usual = len(present) == 0 or (
        pc.all(pc.string_is_ascii(present)).as_py()
        and pc.min(lengths).as_py() >= 1
        and pc.max(lengths).as_py() <= MRN_PADDED_BYTES
        and not pc.any(pc.match_substring(present, "\x00")).as_py()
    )
    if not usual:  # the list path names what is wrong
        return pa.array(
            encrypt_mrn_column(key, registration, profile_version, canonical), pa.string()
        )
    rows = np.flatnonzero(column.is_valid().to_numpy(zero_copy_only=False))
    sizes = lengths.to_numpy().astype(np.int64)
    padded_to = -(-sizes // MRN_PAD_BLOCK) * MRN_PAD_BLOCK
    flat = present.cast(pa.large_string())
    offsets = np.frombuffer(flat.buffers()[1], np.int64)[flat.offset : flat.offset + len(flat) + 1]
    data_buffer = flat.buffers()[2]
    data = (
        np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    )
    ad = _associated_data(registration, profile_version)
    parts: list[pa.Array] = []
    order: list[np.ndarray] = []
    for length in np.unique(padded_to):
        picked = np.flatnonzero(padded_to == length)
        starts, counts = offsets[picked], sizes[picked]
        matrix = np.zeros((len(picked), int(length)), np.uint8)
        total = int(counts.sum())
        row_of = np.repeat(np.arange(len(picked)), counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        matrix[row_of, within] = data[np.repeat(starts, counts) + within]
        parts.append(_b64url_column(siv_encrypt_rows(key.secret, ad, matrix)))
        order.append(picked)
    if not parts:
        return pa.nulls(len(canonical), pa.string())
    grouped = pa.concat_arrays(parts)
    back = np.empty(len(present), np.int64)  # position in ``grouped`` of each present value
    back[np.concatenate(order)] = np.arange(len(present), dtype=np.int64)
    return _in_rows(grouped.take(pa.array(back)), rows, len(canonical))


def source_step_columns(
    canonical: CanonicalColumns, source_key: SourceKey, mrn_key: MrnKey | None = None
) -> SourceColumns:
    """:func:`~.source_step.apply_source_step` with Arrow columns (same values, same errors)."""
    registration = source_key.registration
    values: dict[PseudonymType, pa.Array] = {}
    key_versions: dict[PseudonymType, int] = {}
    for type_, column in canonical.values.items():
        if type_ is PseudonymType.MRN:
            if mrn_key is None:
                raise ConfigError(f"registration {registration} asks for MRN but no MRN key is set")
            values[type_] = encrypt_mrn_arrow(
                mrn_key, registration, canonical.profile_version, column
            )
            key_versions[type_] = mrn_key.version
        else:
            values[type_] = hash_column_arrow(source_key, canonical.profile_version, type_, column)
            key_versions[type_] = source_key.version
    return SourceColumns(
        registration, canonical.profile_version, canonical.num_rows, values, key_versions
    )
