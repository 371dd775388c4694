"""The pseudonymisation stage: normalise, first one-way step, TTP, labelled pseudonyms.

Input is the identity table of the records to deliver (opted-out patients
already removed); output is one :class:`PatientPseudonyms` per patient
number, plus an event with counts, key versions and batch ids. Types that
cannot be computed for a patient are left out and reported by keyed patient
reference; the TTP sees only digests and MRN ciphertexts, keyed by a running
number that means nothing outside this run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.errors import PseudonymisationError
from aanlevering.events.store import EventStore
from aanlevering.pseudonym.events import PseudonymFailure, PseudonymisationCompleted
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym.normalise.registry import get_profile
from aanlevering.pseudonym.source_step import MrnKey, SourceBatch, SourceKey, apply_source_step
from aanlevering.pseudonym.ttp_client import PseudonymInputs, TTPClient, inputs_from_columns
from aanlevering.pseudonym.types import PseudonymType

log = logging.getLogger(__name__)


def pseudonym_stream(registration: str, period: str) -> str:
    """Stream of the pseudonymisation facts of one registration and period."""
    return f"pseudonymisation-{registration}-{period}"


@dataclass(frozen=True)
class PseudonymisationOutcome:
    """Pseudonyms per patient number (kept in memory only) and what the event recorded."""

    by_patient: Mapping[str, PatientPseudonyms]
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
    indices = pa.table({"patient_id": patient_ids, "i": pa.array(range(identity.num_rows))})
    first = indices.group_by("patient_id", use_threads=False).aggregate([("i", "min")])
    first_rows = first.column("i_min").combine_chunks()
    return identity.take(pc.take(first_rows, pc.array_sort_indices(first_rows)))


def _identity_columns(patients: pa.Table) -> dict[str, list[object]]:
    columns = {name: patients.column(name).to_pylist() for name in patients.column_names}
    if "mrn" not in columns or all(v is None for v in columns["mrn"]):
        columns["mrn"] = columns["patient_id"]
    return columns


def _source_inputs(
    batch: SourceBatch, sendable: list[PseudonymInputs], patient_of: Mapping[str, str]
) -> dict[str, PatientPseudonyms]:
    """Local mode: the source step's digests are what the TTP will replace at upload."""
    by_patient = {}
    for record in sendable:
        values = dict(record.digests)
        if record.mrn_ciphertext:
            values[str(PseudonymType.MRN)] = record.mrn_ciphertext
        by_patient[patient_of[record.ref]] = PatientPseudonyms(
            patient_id=patient_of[record.ref],
            pseudonyms=tuple(
                Pseudonym(
                    type=PseudonymType(code),
                    value=value,
                    key_version=batch.key_versions[PseudonymType(code)],
                    temporary=True,
                    profile=batch.profile_version,
                )
                for code, value in values.items()
            ),
        )
    return by_patient


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
    types = pseudo.types
    patients = unique_patients(identity)
    columns = _identity_columns(patients)
    profile = get_profile(pseudo.profile)
    canonical = profile.normalise_columns(columns, types)
    batch = apply_source_step(canonical, source_key, mrn_key)
    patient_ids = [str(p) for p in columns["patient_id"]]
    refs = [f"r{row}" for row in range(batch.num_rows)]
    sendable = inputs_from_columns(batch, refs)
    if pseudo.ttp_mode == "local":
        by_patient = _source_inputs(batch, sendable, dict(zip(refs, patient_ids, strict=True)))
        type_counts = {str(t): sum(1 for v in batch.values[t] if v) for t in batch.values}
        ttp_versions: tuple[int, ...] = ()
        batch_ids: tuple[str, ...] = ()
    else:
        result = client.temporary_pseudonyms(
            config.id,
            sendable,
            run_id=run_id,
            profile_version=batch.profile_version,
            bsn_justification=pseudo.bsn_justification,
        )
        by_patient = {
            p.patient_id: p
            for p in result.patient_pseudonyms(
                dict(zip(refs, patient_ids, strict=True)), batch.profile_version
            )
        }
        type_counts = dict(result.type_counts)
        ttp_versions = tuple(sorted(result.key_versions))
        batch_ids = tuple(b.batch_id for b in result.batches)
    failures = tuple(
        PseudonymFailure(
            patient_ref=patient_ref(patient_ids[f.row]),
            type=str(f.type),
            field=f.field,
            reason=f.reason,
        )
        for f in canonical.failures
        if f.row is not None
    )
    failures_by_type: dict[str, int] = {}
    for failure in failures:
        failures_by_type[failure.type] = failures_by_type.get(failure.type, 0) + 1
    event = PseudonymisationCompleted(
        registration=config.id,
        period=period_label,
        run_id=run_id,
        ttp_mode=pseudo.ttp_mode,
        profile=batch.profile_version,
        patients=patients.num_rows,
        type_counts=type_counts,
        key_versions={str(t): v for t, v in batch.key_versions.items()},
        ttp_key_versions=ttp_versions,
        batch_ids=batch_ids,
        failures_by_type=failures_by_type,
        failures=failures[:1000],
        patients_without_pseudonym=batch.num_rows - len(sendable),
    )
    store.append(pseudonym_stream(config.id, period_label), [event], None)
    log.info(
        "pseudonymised %d patients for %s %s (%d type failures)",
        patients.num_rows,
        config.id,
        period_label,
        len(failures),
    )
    return PseudonymisationOutcome(by_patient=by_patient, event=event)
