"""Drop opted-out patients from an extract, vectorised, before anything is pseudonymised.

The pipeline calls :func:`apply_optouts` on the patient references of the
identity rows (or of every row) right after extraction, so opted-out
patients are never sent to the TTP. It returns a keep-mask for
``table.filter`` and the number of rows removed; :func:`record_optouts_applied`
then appends the counts (never who) to the event log.

The work is one ``pyarrow.compute.is_in`` over the set of opted-out
references (built once per call from the register, which holds thousands,
not millions), so a million rows take well under a second.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import ConfigError, ExtractError
from aanlevering.events.store import EventStore
from aanlevering.optout.events import OptOutsApplied, applied_stream, derived_id
from aanlevering.optout.register import OptOutRegister
from aanlevering.periods import Period
from aanlevering.pseudonym.patient_ref import PatientRefHasher

log = logging.getLogger(__name__)

PatientRefs: TypeAlias = Sequence[str | None] | pa.Array | pa.ChunkedArray


def _as_array(values: object, kind: pa.DataType, what: str) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    array = values if isinstance(values, pa.Array) else pa.array(values, type=kind)
    if not array.type.equals(kind):
        try:
            array = array.cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ConfigError(f"apply_optouts: {what} must be {kind}, got {array.type}") from error
    return array


class MrnRefCache:
    """The MRN -> patient reference pairs one run has computed, as Arrow columns.

    Why: a patient recurs across an extract's datasets (operations,
    complications), so later datasets look their MRNs up here (one
    ``pc.index_in``) and hash only the new ones. It holds MRNs: keep it for
    one run, never store or log it. A refused MRN is kept with a null reference.
    """

    def __init__(self) -> None:
        self._mrns: pa.Array = pa.array([], pa.string())
        self._refs: pa.Array = pa.array([], pa.string())

    def refs_of(self, mrns: pa.StringArray, hasher: PatientRefHasher) -> pa.StringArray:
        """References of distinct, non-null ``mrns`` (null where refused), hashing only new ones."""
        index = pc.index_in(mrns, value_set=self._mrns)
        missing = pc.is_null(index)
        new_mrns = pc.filter(mrns, missing)
        new_refs = hasher.mrn_refs(new_mrns)
        self._mrns = pa.concat_arrays([self._mrns, new_mrns])
        self._refs = pa.concat_arrays([self._refs, new_refs])
        if len(new_mrns) == len(mrns):
            return new_refs
        return pc.replace_with_mask(pc.take(self._refs, index), missing, new_refs)


def patient_refs_for_mrns(
    mrns: Sequence[str | None] | pa.Array | pa.ChunkedArray,
    hasher: PatientRefHasher,
    where: str,
    known: MrnRefCache | None = None,
    row_refs: pa.Array | None = None,
) -> pa.StringArray:
    """Patient references of an extract's MRN column, hashed exactly as the opt-out readers do.

    ``known``: the references already computed in this run (filled as it goes).
    A row without a usable MRN can not be checked against the opt-outs, so it
    stops the run: :class:`ExtractError` names ``where`` and the first such
    rows by ``row_refs`` (``file:line``; else by 1-based position), never the values.
    """
    # A patient has several rows (operations, complications): hash each distinct
    # MRN once (PatientRefHasher.mrn_refs, the readers' mrn_ref in bulk), then
    # spread the references over the rows in Arrow.
    encoded = pc.dictionary_encode(_as_array(mrns, pa.string(), "mrns"))
    distinct = (MrnRefCache() if known is None else known).refs_of(encoded.dictionary, hasher)
    refs = pc.take(distinct, encoded.indices)
    if refs.null_count:
        bad = pc.indices_nonzero(pc.is_null(refs)).to_pylist()
        more = " ..." if len(bad) > 10 else ""
        if row_refs is not None:
            named = pc.take(row_refs, pa.array(bad[:10], pa.int64())).to_pylist()
            shown = ", ".join(str(ref) for ref in named) + more
        else:
            shown = "rows " + ", ".join(str(row + 1) for row in bad[:10]) + more
        raise ExtractError(
            f"{where}: {len(bad)} row(s) without a usable patient number (MRN), so opt-outs "
            f"can not be checked: {shown}"
        )
    return refs


def apply_optouts(
    patient_refs: PatientRefs,
    registration_id: str,
    period: Period,
    *,
    register: OptOutRegister,
    as_of: date | None = None,
    care_dates: Sequence[date | None] | pa.Array | pa.ChunkedArray | None = None,
) -> tuple[pa.BooleanArray, int]:
    """Keep-mask (True = deliver) and the number of rows removed for one registration and period.

    ``as_of`` is the delivery day (default: today). ``care_dates`` (one per
    row) are used only under the ``from-registration-date`` rule; a row with
    no care date, or no dates at all, is removed when the patient opted out.
    Rows without a patient reference are kept (the pipeline rejects them
    elsewhere).
    """
    refs = _as_array(patient_refs, pa.string(), "patient_refs")
    starts = register.exclusion_starts(registration_id, period, as_of)
    if not starts or len(refs) == 0:
        return pa.array([True] * len(refs), type=pa.bool_()), 0
    keys = pa.array(list(starts), type=pa.string())
    hit = pc.fill_null(pc.is_in(refs, value_set=keys), False)
    if (
        care_dates is not None
        and register.rules.registered_during_period == "from-registration-date"
    ):
        dates = _as_array(care_dates, pa.date32(), "care_dates")
        if len(dates) != len(refs):
            raise ConfigError(
                f"apply_optouts: {len(dates)} care dates for {len(refs)} patient references"
            )
        index = pc.index_in(refs, value_set=keys)
        start_per_row = pc.take(pa.array(list(starts.values()), type=pa.date32()), index)
        later = pc.fill_null(pc.greater_equal(dates, start_per_row), True)
        hit = pc.and_(hit, later)
    keep = pc.invert(hit)
    excluded = len(refs) - int(pc.sum(keep).as_py() or 0)
    log.info(
        "opt-outs for %s %s: %d of %d row(s) removed",
        registration_id,
        period.label,
        excluded,
        len(refs),
    )
    return keep, excluded


def record_optouts_applied(
    store: EventStore,
    registration_id: str,
    period: Period,
    *,
    excluded_count: int,
    considered_count: int,
    register: OptOutRegister,
    as_of: date,
    run_id: str = "",
) -> OptOutsApplied:
    """Append the counts of one application (idempotent per run, period and counts)."""
    event = OptOutsApplied(
        event_id=derived_id(
            registration_id,
            period.label,
            as_of,
            considered_count,
            excluded_count,
            register.rules.describe(),
            run_id,
        ),
        registration=registration_id,
        period=period.label,
        excluded_count=excluded_count,
        considered_count=considered_count,
        as_of=as_of,
        rules=register.rules.describe(),
    )
    metadata = {"run_id": run_id} if run_id else None
    store.append(applied_stream(registration_id), [event], None, metadata=metadata)
    return event
