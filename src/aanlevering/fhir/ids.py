"""Non-identifying, reproducible ids for delivered resources.

A delivered resource id must never be (or be derivable from) the MRN or the
source's resource id: MRNs are a small space, so even a plain hash of one can
be reversed by trying them all. Ids are therefore a keyed hash (BLAKE2b) of
the source key under a per-delivery salt, written as a UUID so the same text
serves as ``Resource.id`` and, prefixed with ``urn:uuid:``, as a Bundle
``fullUrl``.

The salt is derived from a hospital secret and the delivery's idempotency
key (:func:`derive_salt`): a rerun of the same delivery reproduces the same
ids (idempotent artefacts), while two deliveries share no ids, so patients
are linked only through the TTP's pseudonyms, as the law intends.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_DOMAIN = b"aanlevering/fhir-resource-id/v1"


def derive_salt(secret: bytes, idempotency_key: str) -> bytes:
    """Per-delivery salt from a hospital secret (kept at home) and the idempotency key."""
    if len(secret) < 16:
        raise ValueError("the secret for resource ids must be at least 16 bytes")
    message = _DOMAIN + b"\x00" + idempotency_key.encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).digest()


class ResourceIds:
    """Maps source keys to delivered ids under one delivery's salt."""

    __slots__ = ("_key", "_keyed")

    def __init__(self, salt: bytes) -> None:
        if len(salt) < 16:
            raise ValueError("the resource id salt must be at least 16 bytes")
        self._key = hashlib.blake2b(salt, digest_size=32).digest()
        self._keyed = hashlib.blake2b(key=self._key, digest_size=16)

    def __repr__(self) -> str:
        return "ResourceIds(<salt hidden>)"

    def worker_key(self) -> bytes:
        """The hash key, for a worker process of this delivery (over a pipe, never to disk)."""
        return self._key

    @classmethod
    def of_worker_key(cls, key: bytes) -> ResourceIds:
        """The ids of :meth:`worker_key` (in the worker process)."""
        ids = cls.__new__(cls)
        ids._key = key
        ids._keyed = hashlib.blake2b(key=key, digest_size=16)
        return ids

    def make(self, kind: str, source_key: str) -> str:
        """The delivered id of the source item ``source_key`` of ``kind`` (a UUID string).

        ``kind`` separates namespaces (``Patient``, ``QuestionnaireResponse:operatie``),
        so equal source keys of different kinds get different ids. The text is
        a version-4 UUID (random-looking bits from the keyed hash).
        """
        digest = self._keyed.copy()
        digest.update(f"{kind}\x00{source_key}".encode())
        h = digest.hexdigest()
        variant = _VARIANT[h[16]]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"

    def of_keys(self, keys: Sequence[str]) -> list[str]:
        """:meth:`make` of the type and id of each ``Type/id`` key (each with a slash).

        Why: the minimised source resources are delivered under the id their key
        hashes to; a window of them hashed at once (NumPy writes the UUID texts)
        costs about half of :meth:`make` one by one.
        """
        texts: list[str] = uuid_texts(key_digests(self._keyed, keys)).to_pylist()
        return texts

    def column(self, kind: str, source_keys: Sequence[str]) -> pa.Array:
        """:meth:`make` of every key of ``source_keys``, as one Arrow string array.

        Why: a million ids made one by one spend most of their time on the
        hex text and the UUID layout; here Python only hashes (one keyed
        BLAKE2b per key) and NumPy writes the text of the whole column.
        """
        return uuid_texts(_digests(self._keyed, kind, source_keys))


def keyed_ids(ids: ResourceIds, keys: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Each key (``Type/id``) with :meth:`ResourceIds.of_keys` of it, a batch at a time."""
    remaining = iter(keys)
    while batch := list(islice(remaining, _KEYS_AT_ONCE)):
        yield from zip(batch, ids.of_keys(batch), strict=True)


#: Keys hashed at once by :func:`keyed_ids` (a window of kept texts).
_KEYS_AT_ONCE = 8_192


def key_digests(keyed: Any, keys: Iterable[str]) -> bytearray:
    """The keyed hash :meth:`ResourceIds.make` takes of each ``Type/id`` key, back to back.

    ``make(type, id)`` hashes ``type\x00id``: the key with its first slash a NUL.
    """
    copy = keyed.copy
    digests = bytearray()
    for key in keys:
        digest = copy()
        digest.update(key.replace("/", "\x00", 1).encode())
        digests += digest.digest()
    return digests


def _digests(keyed: Any, namespace: str, source_keys: Iterable[str]) -> bytearray:
    """The keyed hash of ``namespace\\x00key`` for every key, digests back to back."""
    copy = keyed.copy
    prefix = f"{namespace}\x00"
    digests = bytearray()
    for source_key in source_keys:
        digest = copy()
        digest.update(f"{prefix}{source_key}".encode())
        digests += digest.digest()
    return digests


def _hex_texts(digests: bytearray, size: int) -> pa.Array:
    """The hex text of each ``size``-byte digest, as one Arrow string array."""
    count = len(digests) // size
    offsets = np.arange(0, 2 * size * (count + 1), 2 * size, dtype=np.int32)
    text = digests.hex().encode("ascii")
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(text)]
    )


#: Where each run of hex digits goes in the 36 characters of a UUID's text.
_GROUPS = ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24))


def uuid_texts(digests: bytes | bytearray) -> pa.Array:
    """Version-4 UUID text of each 16-byte digest (as :meth:`ResourceIds.make` writes it)."""
    raw = np.frombuffer(digests, np.uint8).reshape(-1, 16).copy()
    count = len(raw)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 9562 variant
    digits = np.frombuffer(raw.tobytes().hex().encode("ascii"), np.uint8).reshape(count, 32)
    text = np.full((count, 36), ord("-"), np.uint8)
    for start, end, at in _GROUPS:
        text[:, at : at + end - start] = digits[:, start:end]
    offsets = np.arange(0, 36 * (count + 1), 36, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(text.tobytes())]
    )


#: RFC 9562 variant bits (10xx) for the first hex digit of the fourth group.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


_RECORD_DOMAIN = b"aanlevering/record-key/v1"


class RecordKeys:
    """Delivered record keys: a keyed hash of the source record id, never the id itself.

    Source record ids (``Encounter.id``, an EHR's OK_ID) are the hospital's
    own: delivered verbatim, two deliveries (or two registrations) share
    them and they lead back into the EHR. The hash key is derived per
    registration and provider from the hospital's secret, so a record keeps
    its delivered key across versions (a correction supersedes it by key)
    while no other registration or hospital sees the same key. ``namespace``
    names the key variable (``operatie.operatie_id``) so a relation that
    references it gets the same value.
    """

    __slots__ = ("_keyed",)

    def __init__(self, secret: bytes, registration: str, provider: str) -> None:
        if len(secret) < 16:
            raise ValueError("the secret for record keys must be at least 16 bytes")
        label = f"{registration}\x00{provider}".encode()
        key = hmac.new(secret, _RECORD_DOMAIN + b"\x00" + label, hashlib.sha256).digest()
        self._keyed = hashlib.blake2b(key=key, digest_size=16)

    def __repr__(self) -> str:
        return "RecordKeys(<key hidden>)"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("RecordKeys holds a secret key and can not be pickled")

    def make(self, namespace: str, source_key: str) -> str:
        """The delivered key (32 hex digits) of ``source_key`` of the key variable ``namespace``."""
        digest = self._keyed.copy()
        digest.update(f"{namespace}\x00{source_key}".encode())
        return digest.hexdigest()

    def column(self, namespace: str, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Every value of ``values`` as its delivered key (null stays null), hashed once each."""
        flat = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        text = pc.cast(flat, pa.string())
        distinct = pc.unique(pc.drop_null(text))
        hashed = _hex_texts(_digests(self._keyed, namespace, distinct.to_pylist()), 16)
        return hashed.take(pc.index_in(text, value_set=distinct))
