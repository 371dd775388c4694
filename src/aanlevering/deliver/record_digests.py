"""Each record goes to one period: which records every delivered version carried, compactly.

A record whose date the source corrects after delivery (31 March becomes
1 April) falls in another period on the next run; delivered again there,
the registry holder would hold it twice (decision 0465). So every version
records, per dataset, the digests of its records' keys
(:class:`~aanlevering.deliver.events.RecordKeysDelivered`), and a run of a
period looks up its own records in the versions of the registration's other
periods:

- in a version of another period the registry holder holds (the latest
  receipted one) or will hold (a later one staged, not yet receipted): the
  run stops, naming the period;
- only in an earlier version of another period (a correction left them out
  since): they *moved* from there, and the run's accounting says so.

A digest is the first 8 bytes of the record's delivered key (a keyed BLAKE2b
of :class:`aanlevering.fhir.ids.RecordKeys`, the hospital's secret per
registration and provider, namespaced by dataset and key variable): nothing in
it leads back to a record id or a patient, and it costs no hashing of its own
(the keys are hashed once, for the delivery). 8 bytes keep the set small (16
hex digits a record) while a false match stays below one in 10^7 for a
million records against a million.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import DataDictionary
from aanlevering.deliver.events import RecordKeysDelivered, record_keys_stream
from aanlevering.deliver.ledger import DeliveryLedgerView, LedgerEntry
from aanlevering.events.store import EventStore
from aanlevering.extract.model import ExtractedDataset

#: Digests per event: 50 000 records are 800 kB of hex text.
PART_SIZE = 50_000
#: A delivered key's length in hex digits.
KEY_DIGITS = 32
_ID_NAMESPACE = uuid.UUID("6b1d8f0e-4c57-4e0b-9a51-2f4c8e7d3a90")

Digests = Mapping[str, np.ndarray]


def record_digests(
    hashed: Mapping[str, ExtractedDataset], dictionary: DataDictionary
) -> dict[str, np.ndarray]:
    """Per dataset, the sorted distinct digests of its records (none without a key variable).

    ``hashed`` holds the datasets as delivered: key variables already replaced
    by their delivered keys (:func:`aanlevering.output.record_keys.hash_record_keys`),
    so no record is hashed twice. A digest is the first 8 bytes of the delivered
    key (of several key variables: their first 8 bytes XORed).
    """
    found: dict[str, np.ndarray] = {}
    for name, dataset in hashed.items():
        variables = dictionary.dataset(name).key
        table = dataset.clinical
        if not variables or not table.num_rows:
            continue
        if any(v not in table.column_names for v in variables):
            continue
        present = pc.is_valid(table.column(variables[0]))
        for variable in variables[1:]:
            present = pc.and_(present, pc.is_valid(table.column(variable)))
        digest: np.ndarray | None = None
        for variable in variables:
            values = _first_bytes(pc.filter(table.column(variable), present))
            digest = values if digest is None else np.bitwise_xor(digest, values)
        if digest is not None and len(digest):
            found[name] = np.unique(digest)
    return found


def unfollowable_records(
    hashed: Mapping[str, ExtractedDataset], dictionary: DataDictionary
) -> dict[str, int]:
    """Per dataset, the records :func:`record_digests` cannot follow across periods (0495).

    A dataset without a key variable, or whose key column is missing, has no
    record to follow; a record with an empty key part has no digest. They are
    delivered (nothing says they were delivered elsewhere) but counted, so the
    run says which records no other period was checked for. One pass over the
    key columns' validity bitmaps.
    """
    counts: dict[str, int] = {}
    for name, dataset in hashed.items():
        table = dataset.clinical
        if not table.num_rows:
            continue
        variables = dictionary.dataset(name).key
        if not variables or any(v not in table.column_names for v in variables):
            counts[name] = table.num_rows
            continue
        empty = sum(table.column(v).null_count for v in variables)
        if empty and len(variables) > 1:  # a record empty in two parts counts once
            present = pc.is_valid(table.column(variables[0]))
            for variable in variables[1:]:
                present = pc.and_(present, pc.is_valid(table.column(variable)))
            empty = table.num_rows - int(pc.sum(present).as_py() or 0)
        if empty:
            counts[name] = empty
    return counts


def _first_bytes(keys: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The first 8 bytes of each delivered key (32 hex digits) as an unsigned 64-bit number."""
    flat = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    count = len(flat)
    if not count:
        return np.empty(0, np.uint64)
    offsets = np.frombuffer(flat.buffers()[1], np.int32)[flat.offset : flat.offset + count + 1]
    if not (np.diff(offsets) == KEY_DIGITS).all():
        raise ValueError("record digests need delivered keys of 32 hex digits")
    text = np.frombuffer(flat.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
    leading = text.reshape(count, KEY_DIGITS)[:, :16].tobytes().decode("ascii")
    return np.frombuffer(bytes.fromhex(leading), dtype=">u8").astype(np.uint64)


def digest_events(
    registration: str, period: str, version: int, digests: Digests
) -> list[RecordKeysDelivered]:
    """The events recording ``digests`` for one version (ids derived: a retry appends nothing)."""
    events = []
    for name in sorted(digests):
        values = digests[name]
        parts = max(1, -(-len(values) // PART_SIZE))
        for number in range(1, parts + 1):
            chunk = values[(number - 1) * PART_SIZE : number * PART_SIZE]
            events.append(
                RecordKeysDelivered(
                    event_id=uuid.uuid5(
                        _ID_NAMESPACE,
                        f"{registration}|{period}|{version}|{name}|{number}|{parts}",
                    ),
                    registration=registration,
                    period=period,
                    version=version,
                    dataset=name,
                    part=number,
                    parts=parts,
                    records=len(chunk),
                    digests=chunk.astype(">u8").tobytes().hex(),
                )
            )
    return events


def record_delivered_digests(
    store: EventStore, registration: str, period: str, version: int, digests: Digests
) -> None:
    """Append the digests of one version (idempotent: parts already recorded are skipped)."""
    from aanlevering.obligation.service import append_missing

    events = digest_events(registration, period, version, digests)
    append_missing(store, record_keys_stream(registration, period, version), events)


def _read(
    store: EventStore, registration: str, period: str, version: int
) -> dict[str, np.ndarray] | None:
    """The digests one version recorded, per dataset; None when it recorded none (older runs)."""
    parts: dict[str, list[np.ndarray]] = {}
    for record in store.read_stream(record_keys_stream(registration, period, version)):
        if record.event_type != RecordKeysDelivered.event_type:
            continue
        payload = record.payload
        values = np.frombuffer(bytes.fromhex(str(payload.get("digests", ""))), dtype=">u8")
        parts.setdefault(str(payload["dataset"]), []).append(values.astype(np.uint64))
    if not parts:
        return None
    return {name: np.unique(np.concatenate(chunks)) for name, chunks in parts.items()}


@dataclass(frozen=True)
class HeldElsewhere:
    """Records of this run that a version of another period carries, per dataset."""

    period: str
    version: int
    records: Mapping[str, int]

    @property
    def total(self) -> int:
        """All such records."""
        return sum(self.records.values())


@dataclass(frozen=True)
class Placement:
    """Where this run's records were delivered before, if anywhere (counts only)."""

    held_elsewhere: tuple[HeldElsewhere, ...] = ()
    moved_from: Mapping[str, int] = field(default_factory=dict)
    #: Other periods whose held version recorded no digests (delivered before 0465, or
    #: taken from the receiver with content this log never had: decision 0496).
    unknown: tuple[str, ...] = ()


def _overlap(ours: Digests, theirs: Mapping[str, np.ndarray]) -> dict[str, int]:
    counts = {}
    for name, values in ours.items():
        other = theirs.get(name)
        if other is not None and len(other) and len(values):
            count = int(np.isin(values, other, assume_unique=True).sum())
            if count:
                counts[name] = count
    return counts


def _held_versions(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """The versions that are, or may be, at the registry holder, oldest first.

    The latest receipted one (unless a retraction), and every later one that
    was or will be sent (:meth:`LedgerEntry.may_reach_holder`): staged or
    failed (the retry still sends it), or sent and then stopped (0752, 0791),
    whose attempt may have been stored with only its answer lost (decision
    0840). Until a later version is receipted, the holder holds the receipted
    one or any of these; a receipted later version (or retraction) replaces them.
    """
    receipted = [e for e in entries if e.status == "receipted"]
    latest = receipted[-1].version if receipted else 0
    held = receipted[-1:]
    held += [e for e in entries if e.version > latest and e.may_reach_holder]
    return [e for e in held if e.kind == "delivery"]


def _union(recorded: Callable[[int], Digests | None], versions: list[int]) -> Digests:
    """The digests of ``versions`` of one period together, per dataset."""
    parts: dict[str, list[np.ndarray]] = {}
    for version in versions:
        for name, values in (recorded(version) or {}).items():
            parts.setdefault(name, []).append(values)
    return {name: np.unique(np.concatenate(chunks)) for name, chunks in parts.items()}


def place_records(
    store: EventStore,
    ledger: DeliveryLedgerView,
    registration: str,
    period: str,
    ours: Digests,
) -> Placement:
    """Look this run's record digests up in every other period's versions of ``registration``."""
    if not any(len(v) for v in ours.values()):
        return Placement()
    others = sorted(
        {e.period for e in ledger.entries.values() if e.registration == registration} - {period}
    )
    held_elsewhere: list[HeldElsewhere] = []
    moved: dict[str, int] = {}
    unknown: list[str] = []
    for other in others:
        entries = ledger.versions(registration, other)
        held = _held_versions(entries)
        # Each version's digests are read once, for the held lookup and the moved count alike.
        recorded_of = cache(partial(_read, store, registration, other))
        found_held = False
        for entry in held:
            # A version taken from the receiver: what it holds is not what this log built.
            recorded = None if entry.taken else recorded_of(entry.version)
            if recorded is None:
                unknown.append(other)
                continue
            found = _overlap(ours, recorded)
            if found:
                held_elsewhere.append(HeldElsewhere(other, entry.version, found))
                found_held = True
                break
        if found_held:
            continue
        versions = {e.version for e in held}
        earlier = [
            e.version
            for e in entries
            if e.status == "receipted" and e.kind == "delivery" and e.version not in versions
        ]
        if not earlier:
            continue
        now = _union(recorded_of, sorted(versions))
        left = {
            name: np.setdiff1d(values, now.get(name, np.empty(0, np.uint64)), assume_unique=True)
            for name, values in _union(recorded_of, earlier).items()
        }
        count = sum(_overlap(ours, left).values())
        if count:
            moved[other] = count
    return Placement(tuple(held_elsewhere), moved, tuple(sorted(set(unknown))))


def held_elsewhere_message(registration: str, period: str, placement: Placement) -> str:
    """Why the run stops and what to run first (counts and period labels only)."""
    parts = []
    for held in placement.held_elsewhere:
        per_dataset = ", ".join(f"{name} {count}" for name, count in sorted(held.records.items()))
        parts.append(f"{held.total} record(s) ({per_dataset}) in {held.period} v{held.version}")
    first = placement.held_elsewhere[0].period
    return (
        f"{registration} {period}: records of this run were delivered in another period "
        f"already: {'; '.join(parts)}, the version the registry holder holds (may hold, or "
        f"is sent) of that period; their date moved into {period} after it was delivered. "
        "Nothing is sent, so no record is held in two periods: deliver the other period "
        "again from the corrected source first (`aanlevering run --registration "
        f"{registration} --period {first} --input ...`; its new version leaves them out), "
        f"then run {period} again (decision 0465)"
    )
