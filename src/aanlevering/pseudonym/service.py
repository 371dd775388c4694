"""The pseudonymisation stage: normalise, first one-way step, TTP, labelled pseudonyms.

Input is the identity table of the records to deliver (opted-out patients
already removed); output is a :class:`PseudonymTable` (one row per patient
number, a column per type), plus an event with counts, key versions and
batch ids. Types that cannot be computed for a patient are left out and
reported by keyed patient reference; the TTP sees only digests and MRN
ciphertexts, keyed by a running number that means nothing outside this run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.errors import PseudonymisationError
from aanlevering.events.store import EventStore
from aanlevering.pseudonym.crypto import parse_label
from aanlevering.pseudonym.events import PseudonymFailure, PseudonymisationCompleted
from aanlevering.pseudonym.key_check import SourceKeyCheck, source_key_check
from aanlevering.pseudonym.model import PseudonymColumn, PseudonymTable
from aanlevering.pseudonym.normalise.registry import get_profile
from aanlevering.pseudonym.source_columns import SourceColumns, source_step_columns
from aanlevering.pseudonym.source_step import MrnKey, SourceKey
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.pseudonym.ttp.columns import ColumnPseudonyms, value_bytes
from aanlevering.pseudonym.ttp.one_to_one import OneToOne
from aanlevering.pseudonym_types import PseudonymType

log = logging.getLogger(__name__)

#: TTP batches per chunk of patients (see _prepare_chunk): 50,000 patients by default.
CHUNK_BATCHES = 10
#: Failures named in the event (all are counted).
MAX_FAILURES_IN_EVENT = 1000


def pseudonym_stream(registration: str, period: str) -> str:
    """Stream of the pseudonymisation facts of one registration and period."""
    return f"pseudonymisation-{registration}-{period}"


@dataclass(frozen=True)
class PseudonymisationOutcome:
    """Pseudonyms per patient number (kept in memory only) and what the event recorded."""

    by_patient: PseudonymTable
    event: PseudonymisationCompleted


def unique_patients(identity: pa.Table) -> pa.Table:
    """One identity row per patient number (the first), so each person is sent once."""
    if identity.num_rows == 0:
        return identity
    patient_ids = identity.column("patient_id")
    if patient_ids.null_count:
        raise PseudonymisationError(
            f"{patient_ids.null_count} record(s) have no patient number; they cannot be linked"
        )
    # Each id's number in one hash pass, then the first row of each number by one sort
    # (np.unique): no Python range or grouping plan (pinned to unique_patients_reference).
    flat = patient_ids.combine_chunks() if isinstance(patient_ids, pa.ChunkedArray) else patient_ids
    codes = pc.dictionary_encode(flat).indices.to_numpy(zero_copy_only=False)
    _, first_rows = np.unique(codes, return_index=True)
    first_rows.sort()
    return identity.take(pa.array(first_rows, pa.int64()))


def unique_patients_reference(identity: pa.Table) -> pa.Table:
    """:func:`unique_patients` by grouping row numbers per id (the straightforward version)."""
    if identity.num_rows == 0:
        return identity
    patient_ids = identity.column("patient_id")
    if patient_ids.null_count:
        raise PseudonymisationError(
            f"{patient_ids.null_count} record(s) have no patient number; they cannot be linked"
        )
    indices = pa.table({"patient_id": patient_ids, "i": pa.array(range(identity.num_rows))})
    first = indices.group_by("patient_id", use_threads=False).aggregate([("i", "min")])
    first_rows = first.column("i_min").combine_chunks()
    return identity.take(pc.take(first_rows, pc.array_sort_indices(first_rows)))


def _id_column(ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The patient ids as text: a text column as it is, any other as ``str`` of each value."""
    if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):
        flat = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        return flat.cast(pa.string())
    return pa.array([str(p) for p in ids.to_pylist()], pa.string())


def _sent_rows(batch: SourceColumns, columns: Mapping[PseudonymType, pa.Array]) -> pa.Array:
    """Rows that have at least one value: the TTP gets those (the others failed every type)."""
    any_value = pa.array([False] * batch.num_rows)
    for column in columns.values():
        present = pc.fill_null(pc.not_equal(column, ""), False)
        any_value = pc.or_(any_value, present)
    return pc.indices_nonzero(any_value).cast(pa.int64())


def _local_table(batch: SourceColumns, patient_ids: pa.Array, sent: pa.Array) -> PseudonymTable:
    """Local mode: the source step's digests are what the TTP will replace at upload."""
    columns = []
    ordered: list[PseudonymType] = sorted(batch.values, key=lambda t: t == PseudonymType.MRN)
    for type_ in ordered:
        values = batch.values[type_].take(sent)
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
        if values.null_count == len(values):
            continue
        versions = pc.if_else(
            pc.is_null(values),
            pa.scalar(None, pa.int64()),
            pa.scalar(batch.key_versions[type_], pa.int64()),
        )
        columns.append(PseudonymColumn(type_, values, versions, True, batch.profile_version))
    return PseudonymTable(patient_ids.take(sent), columns)


def _label_versions(code: str, labels: pa.Array) -> tuple[pa.Array, bool]:
    """Key version per label and whether the labels are temporary.

    A run has a handful of distinct label headers (kind, type, version):
    each is parsed once (decision 0121), and every label gets its version by
    header, in Arrow. Usually every label of a chunk has one header: that is
    checked with a prefix test instead of cutting every label by a regular
    expression (the same answer, pinned against :func:`_label_versions_by_regex`).
    """
    present = pc.drop_null(labels)
    if len(present):
        first = present[0].as_py()
        cut = first.rfind(":")
        if cut >= 0:
            head = first[: cut + 1]
            # Every label starts with the head, so it has no ":" after it exactly when
            # the labels' bytes hold the head's colons once per label (one count over
            # all bytes instead of a cut copy of every label, pinned by the same tests).
            one_head = pc.all(pc.starts_with(present, head)).as_py() and value_bytes(present).count(
                b":"
            ) == head.count(":") * len(present)
            if one_head:
                parsed = parse_label(first)
                if parsed.type.value != code:
                    raise PseudonymisationError(
                        f"TTP answer: a {parsed.type.value} label among {code}"
                    )
                version = pa.scalar(parsed.version, pa.int64())
                none = pa.scalar(None, pa.int64())
                return pc.if_else(pc.is_valid(labels), version, none), parsed.kind == "temporary"
    return _label_versions_by_regex(code, labels)


def _label_versions_by_regex(code: str, labels: pa.Array) -> tuple[pa.Array, bool]:
    """:func:`_label_versions` for any mix of headers: each label cut by a regular expression."""
    heads = pc.replace_substring_regex(labels, pattern=":[^:]*$", replacement="")
    distinct = pc.drop_null(pc.unique(heads))
    versions = []
    kinds = set()
    for head in distinct.to_pylist():
        first = pc.index(heads, head).as_py()
        parsed = parse_label(labels[first].as_py())
        if parsed.type.value != code:
            raise PseudonymisationError(f"TTP answer: a {parsed.type.value} label among {code}")
        versions.append(parsed.version)
        kinds.add(parsed.kind == "temporary")
    if len(kinds) > 1:
        raise PseudonymisationError(f"TTP answer: {code} labels mix temporary and final")
    by_row = pc.take(pa.array(versions, pa.int64()), pc.index_in(heads, value_set=distinct))
    return by_row, kinds.pop() if kinds else False


def _web_table(
    result: ColumnPseudonyms, patient_ids: pa.Array, sent: pa.Array, profile: str
) -> PseudonymTable:
    """Web mode: the TTP's labels per type, one row per record sent."""
    columns = []
    for code, labels in result.labels.items():
        versions, temporary = _label_versions(code, labels)
        columns.append(PseudonymColumn(PseudonymType(code), labels, versions, temporary, profile))
    return PseudonymTable(patient_ids.take(sent), columns)


@dataclass(frozen=True)
class _Chunk:
    """What one chunk of a run's patients produced (the event sums the chunks).

    Only counts and the first failures are kept: a chunk's per-person values
    are gone once its pseudonyms are in ``table``.
    """

    profile_version: str
    key_versions: Mapping[PseudonymType, int]
    table: PseudonymTable
    type_counts: Mapping[str, int]
    ttp_versions: tuple[int, ...]
    batch_ids: tuple[str, ...]
    failures: tuple[PseudonymFailure, ...]
    failure_counts: Mapping[str, int]
    without_pseudonym: int
    failure_reasons: Mapping[str, Mapping[str, int]]


def _mrn_missing(patients: pa.Table) -> bool:
    """No MRN column (or only nulls): the patient number is the MRN (as FHIR sources have)."""
    if "mrn" not in patients.column_names:
        return True
    return bool(patients.column("mrn").null_count == patients.num_rows)


@dataclass(frozen=True)
class _Prepared:
    """One chunk after normalisation and the source step: ready for the TTP."""

    first_row: int
    batch: SourceColumns
    patient_ids: pa.Array
    sent: pa.Array
    failures: tuple[PseudonymFailure, ...]
    failure_counts: Mapping[str, int]
    failure_reasons: Mapping[str, Mapping[str, int]]


def _prepare_chunk(
    config: RegistrationConfig,
    patients: pa.Table,
    first_row: int,
    *,
    mrn_from_patient_id: bool,
    source_key: SourceKey,
    mrn_key: MrnKey,
    patient_ref: Callable[[str], str],
) -> _Prepared:
    """Normalise and run the source step for the patients of one chunk.

    Why chunks: the per-person values (identifiers, canonical inputs, digests,
    TTP answers) exist as Python objects only for a chunk or two at a time, so
    a run's memory does not grow with the number of patients. Refs count on
    from earlier chunks: they are those of one call.
    """
    pseudo = config.pseudonymisation
    if mrn_from_patient_id:
        if "mrn" in patients.column_names:
            patients = patients.drop_columns(["mrn"])
        patients = patients.append_column("mrn", patients.column("patient_id"))
    # a table: each distinct value of a field is normalised once (normalise/distinct.py)
    canonical = get_profile(pseudo.profile).normalise_columns(patients, pseudo.types)
    # Arrow columns straight away: the HMAC of each value is the only per-value step
    # (source_columns.py; the same values as apply_source_step, pinned by tests).
    batch = source_step_columns(canonical, source_key, mrn_key)
    ids = patients.column("patient_id")
    mrns = patients.column("mrn") if "mrn" in patients.column_names else None

    def number(row: int) -> str:
        """Failures are named by the hospital patient number (the MRN), the key opt-outs use
        too, else the patient id; looked up for the few failures only, not made per person."""
        patient = str(ids[row].as_py())
        mrn = mrns[row].as_py() if mrns is not None else patient
        return str(mrn if mrn else patient)

    located = [f for f in canonical.failures if f.row is not None]
    counts: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    seen: set[tuple[int, str]] = set()
    for failure in located:  # per patient and type: the first field that failed
        key = (int(failure.row or 0), str(failure.type))
        if key in seen:
            continue
        seen.add(key)
        counts[key[1]] = counts.get(key[1], 0) + 1
        why = reasons.setdefault(key[1], {})
        text = f"{failure.field}: {failure.reason}"
        why[text] = why.get(text, 0) + 1
    failures = tuple(
        PseudonymFailure(
            patient_ref=patient_ref(number(f.row)),
            type=str(f.type),
            field=f.field,
            reason=f.reason,
        )
        for f in located[:MAX_FAILURES_IN_EVENT]
        if f.row is not None
    )
    return _Prepared(
        first_row,
        batch,
        _id_column(ids),
        _sent_rows(batch, batch.values),
        failures,
        counts,
        reasons,
    )


def _finish_chunk(
    config: RegistrationConfig,
    prepared: _Prepared,
    *,
    client: TTPClient,
    run_id: str,
    key_check: SourceKeyCheck,
    one_to_one: OneToOne,
) -> _Chunk:
    """The chunk's pseudonyms: from the TTP (web mode) or the source digests (local mode).

    TTP request ids count on from earlier chunks, as in one call.
    """
    pseudo = config.pseudonymisation
    batch, sent = prepared.batch, prepared.sent
    id_column = prepared.patient_ids
    if pseudo.ttp_mode == "local":
        table = _local_table(batch, id_column, sent)
        # A digest or token is never empty: every value that is not null counts.
        type_counts = {str(t): len(v) - v.null_count for t, v in batch.values.items()}
        ttp_versions: tuple[int, ...] = ()
        batch_ids: tuple[str, ...] = ()
    else:
        result = client.temporary_columns(
            config.id,
            {
                str(t): column.take(sent)
                for t, column in batch.values.items()
                if t is not PseudonymType.MRN
            },
            (
                batch.values[PseudonymType.MRN].take(sent)
                if PseudonymType.MRN in batch.values
                else None
            ),
            run_id=run_id,
            profile_version=batch.profile_version,
            bsn_justification=pseudo.bsn_justification,
            first_batch=prepared.first_row // client.batch_size,
            source_key_check=key_check,
            one_to_one=one_to_one,
        )
        table = _web_table(result, id_column, sent, batch.profile_version)
        type_counts = dict(result.type_counts)
        ttp_versions = tuple(sorted(result.key_versions))
        batch_ids = tuple(b.batch_id for b in result.batches)
    return _Chunk(
        batch.profile_version,
        batch.key_versions,
        table,
        type_counts,
        ttp_versions,
        batch_ids,
        prepared.failures,
        prepared.failure_counts,
        batch.num_rows - len(sent),
        prepared.failure_reasons,
    )


def _chunks(
    config: RegistrationConfig,
    patients: pa.Table,
    *,
    client: TTPClient,
    source_key: SourceKey,
    mrn_key: MrnKey,
    patient_ref: Callable[[str], str],
    run_id: str,
) -> list[_Chunk]:
    """Every chunk, preparing the next while the TTP works on the last.

    Normalisation and the source step are Python work on this process; the
    TTP's is on its own: overlapping them keeps both busy. Errors (a TTP
    refusal, a lost TTP) surface here in chunk order; the answers of every
    chunk are then checked together (:class:`OneToOne`: no pseudonym given to
    two different inputs, in one batch or across batches).
    """
    one_to_one = OneToOne(config.id)
    mrn_from_patient_id = _mrn_missing(patients)
    chunk_rows = client.batch_size * CHUNK_BATCHES
    done: list[_Chunk] = []
    with ThreadPoolExecutor(1, thread_name_prefix="ttp-chunk") as pool:
        pending: Future[_Chunk] | None = None
        for start in range(0, max(patients.num_rows, 1), chunk_rows):
            prepared = _prepare_chunk(
                config,
                patients.slice(start, chunk_rows),
                start,
                mrn_from_patient_id=mrn_from_patient_id,
                source_key=source_key,
                mrn_key=mrn_key,
                patient_ref=patient_ref,
            )
            if pending is not None:
                done.append(pending.result())
            pending = pool.submit(
                _finish_chunk,
                config,
                prepared,
                client=client,
                run_id=run_id,
                key_check=source_key_check(source_key),
                one_to_one=one_to_one,
            )
        if pending is not None:
            done.append(pending.result())
    one_to_one.check()
    return done


def pseudonymise(
    config: RegistrationConfig,
    period_label: str,
    identity: pa.Table,
    *,
    client: TTPClient,
    source_key: SourceKey,
    mrn_key: MrnKey,
    patient_ref: Callable[[str], str],
    store: EventStore,
    run_id: str,
) -> PseudonymisationOutcome:
    """Pseudonyms for every patient in ``identity``: temporary ones from the TTP (web
    mode), or the source digests the TTP replaces at upload (local mode).

    Raises TTPError (run stops before delivery) when the TTP refuses, stays
    unavailable, or answers without some records; PseudonymisationError when
    records lack a patient number.
    """
    pseudo = config.pseudonymisation
    patients = unique_patients(identity)
    chunks = _chunks(
        config,
        patients,
        client=client,
        source_key=source_key,
        mrn_key=mrn_key,
        patient_ref=patient_ref,
        run_id=run_id,
    )
    by_patient = PseudonymTable.concat([c.table for c in chunks])
    type_counts: dict[str, int] = {}
    for chunk in chunks:
        for code, count in chunk.type_counts.items():
            type_counts[code] = type_counts.get(code, 0) + count
    first = chunks[0]
    ttp_versions = tuple(sorted({v for c in chunks for v in c.ttp_versions}))
    batch_ids = tuple(b for c in chunks for b in c.batch_ids)
    failures = tuple(f for c in chunks for f in c.failures)
    failures_by_type: dict[str, int] = {}
    failure_reasons: dict[str, dict[str, int]] = {}
    for chunk in chunks:
        for code, count in chunk.failure_counts.items():
            failures_by_type[code] = failures_by_type.get(code, 0) + count
        for code, why in chunk.failure_reasons.items():
            merged = failure_reasons.setdefault(code, {})
            for text, count in why.items():
                merged[text] = merged.get(text, 0) + count
    event = PseudonymisationCompleted(
        registration=config.id,
        period=period_label,
        run_id=run_id,
        ttp_mode=pseudo.ttp_mode,
        profile=first.profile_version,
        patients=patients.num_rows,
        type_counts=type_counts,
        key_versions={str(t): v for t, v in first.key_versions.items()},
        ttp_key_versions=ttp_versions,
        batch_ids=batch_ids,
        failures_by_type=failures_by_type,
        failure_reasons=failure_reasons,
        failures=failures[:MAX_FAILURES_IN_EVENT],
        patients_without_pseudonym=sum(c.without_pseudonym for c in chunks),
    )
    store.append(pseudonym_stream(config.id, period_label), [event], None)
    log.info(
        "pseudonymised %d patients for %s %s (%d type failures)",
        patients.num_rows,
        config.id,
        period_label,
        sum(failures_by_type.values()),
    )
    return PseudonymisationOutcome(by_patient=by_patient, event=event)
