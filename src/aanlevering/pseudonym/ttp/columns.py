"""Temporary pseudonyms in columns: the batch encoding of ``/pseudonyms/temporary/columns``.

Why apart from the record form: at a million patients, building a dict per
record, encoding it, and reading and checking a dict per answered record cost
more than the TTP's own work. Here a batch is one hex string per type (plus
the MRN ciphertexts), and the answer one payload list per type that becomes a
label column in Arrow. The answer is checked as a whole: exactly the types
asked, one payload per row, nulls exactly where nothing was sent, payloads of
base64url letters, and the label head of every type parsed once
(:func:`~aanlevering.pseudonym.crypto.parse_label`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import TTPError
from aanlevering.pseudonym.crypto import TEMPORARY_MARKER, LabelError, parse_label
from aanlevering.pseudonym.ttp.models import BatchReceipt
from aanlevering.pseudonym_types import PseudonymType

_MRN = PseudonymType.MRN.value
_PAYLOAD = r"^[A-Za-z0-9_-]+$"
_PAYLOAD_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
#: AES-SIV adds a 16-byte tag to what it seals (docs/ttp.md: every payload is AES-SIV output).
_SIV_TAG = 16
#: A temporary payload: a 32-byte digest sealed, 48 bytes in base64url (decision 0440).
TEMPORARY_PAYLOAD_CHARS = 64


@dataclass(frozen=True, repr=False)
class ColumnPseudonyms:
    """Labels per type, one per row sent (null where the row had no input of that type)."""

    registration: str
    labels: Mapping[str, pa.Array]
    key_versions: frozenset[int]
    batches: tuple[BatchReceipt, ...]
    type_counts: Mapping[str, int]

    def __repr__(self) -> str:
        return (
            f"ColumnPseudonyms(registration={self.registration!r}, types={dict(self.type_counts)}, "
            f"key_versions={sorted(self.key_versions)}, batches={len(self.batches)})"
        )


def as_column(values: pa.Array | pa.ChunkedArray | list[str | None]) -> pa.Array:
    """A string column with empty strings as nulls (a row without that input)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    column = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    column = column.cast(pa.string())
    empty = pc.fill_null(pc.equal(column, ""), False)
    if pc.any(empty).as_py():
        column = pc.if_else(empty, pa.scalar(None, pa.string()), column)
    return column


def value_bytes(column: pa.Array) -> bytes:
    """The UTF-8 bytes of the non-null values of ``column`` back to back, in one copy."""
    present = pc.drop_null(column).cast(pa.large_string())
    if not len(present):
        return b""
    offsets = np.frombuffer(present.buffers()[1], dtype=np.int64)
    offsets = offsets[present.offset : present.offset + len(present) + 1]
    data = present.buffers()[2]
    assert data is not None
    text: bytes = data[int(offsets[0]) : int(offsets[-1])].to_pybytes()
    return text


def joined(column: pa.Array) -> str:
    """The non-null values of ``column`` concatenated, without a Python string per value."""
    return value_bytes(column).decode("ascii")


def _offsets(column: pa.Array) -> np.ndarray:
    """The value offsets of a ``string`` column (its own rows: a slice's offset applied)."""
    offsets = np.frombuffer(column.buffers()[1], np.int32)
    return offsets[column.offset : column.offset + len(column) + 1]


def payload_letters(column: pa.Array) -> bool:
    """Whether every non-null value is one or more base64url letters (``_PAYLOAD``).

    Why not the regular expression: it ran per value and was the largest part
    of reading an answer; deleting the allowed letters from all the values'
    bytes at once leaves nothing exactly when each value has only those
    (pinned against :func:`payload_letters_reference`).
    """
    if column.null_count == len(column):  # as ``pc.all`` of no values: not passed
        return False
    if column.null_count or not pa.types.is_string(column.type):
        if pc.any(pc.equal(pc.binary_length(column), 0)).as_py():
            return False
    elif not bool(np.all(np.diff(_offsets(column)) > 0)):  # an empty value
        return False
    return not value_bytes(column).translate(None, _PAYLOAD_LETTERS)


def payload_letters_reference(column: pa.Array) -> bool:
    """:func:`payload_letters` by the regular expression, value by value."""
    return bool(pc.all(pc.match_substring_regex(column, _PAYLOAD)).as_py())


def batch_body(
    registration: str,
    request_id: str,
    *,
    profile_version: str,
    source_key: Mapping[str, Any],
    digests: Mapping[str, pa.Array],
    mrn: pa.Array | None,
) -> dict[str, Any]:
    """The request body of one batch (rows of equal-length columns)."""
    count = len(mrn) if mrn is not None else len(next(iter(digests.values())))
    types: dict[str, Any] = {}
    for code, column in digests.items():
        if column.null_count == len(column):
            continue
        missing = pc.indices_nonzero(pc.is_null(column)).to_pylist() if column.null_count else []
        types[code] = {"digests": joined(column), "missing": missing}
    body: dict[str, Any] = {
        "registration": registration,
        "request_id": request_id,
        "profile_version": profile_version,
        "source_key": dict(source_key),
        "count": count,
        "types": types,
    }
    if mrn is not None and mrn.null_count < len(mrn):
        body["mrn_ciphertexts"] = mrn.to_pylist()
    return body


def label_head(code: str, version: int) -> str:
    """What goes before a payload of ``code`` and key version ``version`` (its label head)."""
    if code == _MRN:
        return f"{_MRN}:v{version}:"
    return f"{TEMPORARY_MARKER}:{code}:v{version}:"


def read_answer(
    registration: str,
    request_id: str,
    body: Mapping[str, Any],
    answer: Any,
    *,
    mrn_sent: pa.Array | None = None,
) -> tuple[dict[str, pa.Array], int]:
    """Labels per type of one batch's answer, and its key version; TTPError if it is wrong.

    Nothing of an answer is used unless all of it passes. ``mrn_sent``: the
    body's ``mrn_ciphertexts`` as the Arrow column they were taken from (null
    where none was sent), so they need not be made Arrow again from the body's
    list; the checks are the same either way (pinned by tests).
    """
    where = f"TTP answer to {request_id} ({registration})"
    count = int(body["count"])
    asked: dict[str, pa.Array] = {}
    if not isinstance(answer, dict) or not isinstance(answer.get("payloads"), dict):
        raise TTPError(f"{where} has no payloads")
    version = answer.get("key_version")
    if type(version) is not int or version < 1:
        raise TTPError(f"{where} has no valid key version")
    batch_id = answer.get("batch_id")
    if type(batch_id) is not str or not batch_id or len(batch_id) > 200:
        raise TTPError(f"{where} has no batch id (the run's event must name every batch)")
    if answer.get("registration") != registration:
        raise TTPError(
            f"{where} is for another registration; nothing from this run may be delivered"
        )
    if answer.get("record_count") != count or answer.get("request_id") != request_id:
        raise TTPError(
            f"{where} is incomplete: {answer.get('record_count')} records for {count} sent; "
            "nothing from this run may be delivered"
        )
    expected = set(body["types"]) | ({_MRN} if "mrn_ciphertexts" in body else set())
    payloads = answer["payloads"]
    if set(payloads) != expected:
        raise TTPError(f"{where} has types {sorted(payloads)}, expected {sorted(expected)}")
    mrn = None
    if _MRN in expected:
        mrn = mrn_sent if mrn_sent is not None else pa.array(body["mrn_ciphertexts"], pa.string())
    for code in sorted(expected):
        try:
            column = pa.array(payloads[code], pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            raise TTPError(f"{where}: {code} payloads are not a list of strings") from None
        sent_null = _sent_nulls(code, count, body, mrn)
        if len(column) != count or not pc.all(pc.equal(pc.is_null(column), sent_null)).as_py():
            raise TTPError(
                f"{where} is incomplete: {code} payloads do not match the rows sent; "
                "nothing from this run may be delivered"
            )
        if not payload_letters(column):
            raise TTPError(f"{where}: malformed {code} label")
        # payload_letters passed: ASCII only, so a payload's bytes are its characters.
        check_payload_lengths(where, code, column, mrn if code == _MRN else None, ascii_only=True)
        labels = with_head(label_head(code, version), column)
        _check_head(where, code, version, labels)
        asked[code] = labels
    return asked, version


def _sent_nulls(code: str, count: int, body: Mapping[str, Any], mrn: pa.Array | None) -> pa.Array:
    """Where the batch sent no input of ``code``: the answer must have nulls exactly there."""
    if code == _MRN:
        assert mrn is not None
        return pc.is_null(mrn)
    sent = np.zeros(count, dtype=bool)
    sent[body["types"][code]["missing"]] = True
    return pa.array(sent)


def check_payload_lengths(
    where: str,
    code: str,
    column: pa.Array,
    mrn_sent: pa.Array | None,
    skip: int = 0,
    *,
    ascii_only: bool = False,
) -> None:
    """Every payload as long as AES-SIV makes it from what was sent (decision 0440).

    A temporary payload seals a 32-byte digest: 64 characters. An MRN payload
    seals the hospital's ciphertext (``mrn_sent``, row for row): its bytes plus
    the tag. Anything else (a BSN, a truncated or padded value, another kind's
    payload) is no pseudonym of this protocol. ``skip``: characters before
    the payload (a label's head).
    """
    measured = pc.binary_length(column) if ascii_only else pc.utf8_length(column)
    lengths = pc.subtract(measured, skip) if skip else measured
    if code == _MRN:
        assert mrn_sent is not None
        sent = pc.utf8_length(mrn_sent)
        sealed = pc.add(pc.divide(pc.multiply(sent, 3), 4), _SIV_TAG)  # bytes
        expected = pc.divide(pc.add(pc.multiply(sealed, 4), 2), 3)  # unpadded base64url
    else:
        expected = pa.scalar(TEMPORARY_PAYLOAD_CHARS, pa.int32())
    if not pc.all(pc.equal(lengths, expected)).as_py():
        raise TTPError(
            f"{where}: {code} payloads of the wrong length for pseudonyms of what was sent; "
            "nothing from this run may be delivered"
        )


def with_head(head: str, column: pa.Array) -> pa.Array:
    """Every payload with ``head`` before it (null stays null): labels from payloads.

    A column without nulls whose payloads are all one width (every temporary
    type: 64 characters) is laid out in NumPy, head and payload side by side
    per row; any other column takes ``binary_join_element_wise``, which gives
    the same labels (pinned by ``tests/unit/ttp/test_ttp_payload_letters.py``).
    """
    count = len(column)
    if count and not column.null_count and pa.types.is_string(column.type):
        offsets = _offsets(column)
        width = int(offsets[1] - offsets[0])
        if width and bool(np.all(np.diff(offsets) == width)):
            data = column.buffers()[2]
            assert data is not None
            payloads = np.frombuffer(data, np.uint8)[int(offsets[0]) : int(offsets[-1])]
            prefix = head.encode("utf-8")
            step = len(prefix) + width
            rows = np.empty((count, step), np.uint8)
            rows[:, : len(prefix)] = np.frombuffer(prefix, np.uint8)
            rows[:, len(prefix) :] = payloads.reshape(count, width)
            new_offsets = np.arange(0, count * step + 1, step, dtype=np.int32)
            return pa.Array.from_buffers(
                pa.string(), count, [None, pa.py_buffer(new_offsets), pa.py_buffer(rows)]
            )
    return pc.binary_join_element_wise(head, column, "")


def _check_head(where: str, code: str, version: int, labels: pa.Array) -> None:
    """The first label of the type, parsed in full: kind, type and version as expected."""
    first = pc.drop_null(labels)
    if not len(first):
        return
    want = "mrn" if code == _MRN else "temporary"
    try:
        label = parse_label(first[0].as_py())
    except LabelError:
        raise TTPError(f"{where}: malformed {code} label") from None
    if label.kind != want or label.type.value != code or label.version != version:
        raise TTPError(f"{where}: {code} label is not a {want} {code} pseudonym of v{version}")
