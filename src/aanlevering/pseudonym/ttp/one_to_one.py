"""A run's TTP answers checked as a whole: no pseudonym shared by two inputs, none an echo.

Why: the column form joins answers to patients by row, so an answer that
passes every per-batch check can still give two people one pseudonym (in one
batch or in two) or hand back what was sent. Delivered, that mixes two
patients' data under one pseudonym in a national registry, silently and for
good. A temporary pseudonym is a deterministic encryption of its input
(docs/ttp.md), so within one type and key version equal pseudonyms mean
equal inputs; anything else is a wrong answer (decision 0440).

How, at a million rows: each input and payload is reduced to a 64-bit key
(its first 16 characters, folded; both are random-looking: HMAC hex, AES-SIV
output in base64url), kept per type and key version for the whole run, and
:meth:`OneToOne.check` sorts the payload keys once per type (:func:`mixed_count`).
Only when a payload key answers two different input keys are its rows looked
at further, to count them. A key collision between different payloads can only stop
a run that was right (about 1 in 10^7 at a million), never pass a wrong one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import TTPError

#: Odd 64-bit constant (2^64 / golden ratio) that spreads the first word over every bit.
_SPREAD = np.uint64(0x9E3779B97F4A7C15)
#: Characters of a value that make its key (two 8-byte words).
KEY_CHARS = 16


def value_keys(column: pa.Array, skip: int = 0) -> np.ndarray:
    """A 64-bit key per non-null value of a string column, from characters ``skip`` to ``skip+16``.

    Every non-null value must have at least ``skip + 16`` bytes (ValueError
    otherwise): inputs and payloads are much longer.
    """
    if column.type != pa.string():
        column = column.cast(pa.string())
    count = len(column) - column.null_count
    if not count:
        return np.zeros(0, np.uint64)
    offsets_buffer, data_buffer = column.buffers()[1:3]
    assert offsets_buffer is not None and data_buffer is not None
    offsets = np.frombuffer(offsets_buffer, np.int32)[
        column.offset : column.offset + len(column) + 1
    ]
    starts = offsets[:-1]
    lengths = np.diff(offsets)
    if column.null_count:
        valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
        starts, lengths = starts[valid], lengths[valid]
    if int(lengths.min()) < skip + KEY_CHARS:
        raise ValueError(f"a value shorter than {skip + KEY_CHARS} characters")
    data = np.frombuffer(data_buffer, np.uint8)
    # Overlapping little-endian words, one starting at every byte: two reads per value.
    words = np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    first = starts.astype(np.int64) + skip
    keys: np.ndarray = words[first] * _SPREAD ^ words[first + 8]
    return keys


class OneToOne:
    """Keys of every input and payload of one run, per type and key version."""

    def __init__(self, registration: str) -> None:
        self._registration = registration
        self._inputs: dict[tuple[str, int], list[np.ndarray]] = {}
        self._payloads: dict[tuple[str, int], list[np.ndarray]] = {}

    def add(
        self,
        where: str,
        code: str,
        version: int,
        inputs: pa.Array,
        labels: pa.Array,
        *,
        skip: int = 0,
    ) -> None:
        """One batch's answer for one type: ``labels[i]`` answers ``inputs[i]`` (nulls alike).

        ``skip``: characters before the payload (the label head). Raises
        TTPError at once when a payload is its own input sent back.
        """
        try:
            sent, got = value_keys(inputs), value_keys(labels, skip)
        except ValueError:
            raise TTPError(f"{where}: {code} payloads too short to be pseudonyms") from None
        if len(sent) != len(got):
            raise TTPError(f"{where} is incomplete: {code} payloads do not match the rows sent")
        echoed = int(np.count_nonzero(sent == got))
        if echoed:
            raise TTPError(
                f"{where}: {echoed} {code} payload(s) are the input sent, not a pseudonym; "
                "nothing from this run may be delivered"
            )
        self._inputs.setdefault((code, version), []).append(sent)
        self._payloads.setdefault((code, version), []).append(got)

    def check(self) -> None:
        """TTPError when, in any type and key version, one payload answers two different inputs."""
        for (code, version), parts in sorted(self._payloads.items()):
            payloads = np.concatenate(parts) if len(parts) > 1 else parts[0]
            inputs = np.concatenate(self._inputs[(code, version)])
            mixed = mixed_count(payloads, inputs)
            if mixed:
                raise TTPError(
                    f"TTP answers for registration {self._registration!r}: {mixed} {code} "
                    f"pseudonym(s) of key version {version} were given to more than one "
                    "different input (different people would share one pseudonym); nothing "
                    "from this run may be delivered"
                )


def mixed_count(payloads: np.ndarray, inputs: np.ndarray) -> int:
    """How many inputs beyond the first each payload answers, summed (0: one to one).

    ``payloads[i]`` answers ``inputs[i]`` (keys of :func:`value_keys`). One sort
    of the payloads finds those that repeat (none, or the same input sent
    twice: few); only their rows are picked (a hash lookup in Arrow) and
    sorted by payload and input, where a payload answering two different
    inputs has neighbours that differ in input. The same as
    :func:`mixed_count_reference` (pinned by tests); a membership test by
    sorting and a unique of row pairs did this before, about a second at a
    million answers of four types.
    """
    ordered = np.sort(payloads)
    repeats = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeats):
        return 0
    repeats = repeats[np.concatenate(([True], repeats[1:] != repeats[:-1]))]  # sorted: distinct
    shared = pc.is_in(pa.array(payloads), value_set=pa.array(repeats))
    rows = shared.to_numpy(zero_copy_only=False)
    rows_payloads, rows_inputs = payloads[rows], inputs[rows]
    order = np.lexsort((rows_inputs, rows_payloads))
    rows_payloads, rows_inputs = rows_payloads[order], rows_inputs[order]
    differ = (rows_payloads[1:] == rows_payloads[:-1]) & (rows_inputs[1:] != rows_inputs[:-1])
    return int(np.count_nonzero(differ))


def mixed_count_reference(payloads: np.ndarray, inputs: np.ndarray) -> int:
    """:func:`mixed_count` said plainly: the distinct inputs of each payload, less one, summed."""
    answered: dict[int, set[int]] = {}
    for payload, sent in zip(payloads.tolist(), inputs.tolist(), strict=True):
        answered.setdefault(payload, set()).add(sent)
    return sum(len(sent) - 1 for sent in answered.values())
