"""Stop a run whose patient-number column matches opt-outs its MRN column misses (decision 0610).

Why: opt-outs are keyed by the hospital patient number (MRN). An export with
both an MRN column and another patient number (an EHR-internal id), mapped
the wrong way round in ``source.csv.datasets``, keys every record by the
other number: no opt-out matches, and the patients who objected are
delivered without a word. So, when a dataset's identity has both ``mrn``
and ``patient_id`` and they differ, the distinct patient numbers are hashed
as MRNs too (the run's hasher and :class:`MrnRefCache`) and looked up in the
register with the rule ``apply_optouts`` uses. When at least
:data:`MIN_PATIENTS` patients are opted out by their patient number but not
by their MRN, and more than are opted out by their MRN, the mapping is
almost surely swapped: :class:`ConfigError`, before anything is
pseudonymised. Fewer are chance collisions of two numberings: a warning.
Messages carry column names and counts, never a patient number.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import ConfigError
from aanlevering.events.store import EventStore
from aanlevering.extract.model import Extract
from aanlevering.optout.events import OPTOUT_EVENT_TYPES
from aanlevering.optout.filter import MrnRefCache
from aanlevering.optout.register import OptOutRegister
from aanlevering.optout.rules import OptOutRules
from aanlevering.pseudonym.patient_ref import PatientRefHasher

log = logging.getLogger(__name__)

#: Patients opted out by patient number only, from which on a swap is assumed (fewer: chance).
MIN_PATIENTS = 3

#: How the two identity fields are named in messages when the caller gives no source columns.
DEFAULT_COLUMNS = ("mrn", "patient_id")
_FHIR_HINT = " (FHIR: is source.fhir.mrn_system the system of the hospital's patient numbers?)"


@dataclass(frozen=True)
class SwapCounts:
    """Per dataset: patients opted out by their patient number only, and by their MRN."""

    dataset: str
    by_number_only: int
    by_mrn: int

    @property
    def swapped(self) -> bool:
        """Too many, and more than the MRN matches, to be chance."""
        return self.by_number_only >= MIN_PATIENTS and self.by_number_only > self.by_mrn


@dataclass(frozen=True)
class _Candidate:
    name: str
    differ: pa.BooleanArray
    number_refs: pa.StringArray  # per differing row: its patient number hashed as an MRN


def check_mrn_not_swapped(
    extract: Extract,
    mrn_refs: Mapping[str, pa.Array],
    register: OptOutRegister,
    *,
    store: EventStore,
    hasher: PatientRefHasher,
    known: MrnRefCache,
    rules: OptOutRules,
    as_of: date,
    columns: Mapping[str, tuple[str, str]] | None = None,
) -> list[SwapCounts]:
    """ConfigError when a dataset's MRN and patient-number columns look swapped; else the counts.

    ``mrn_refs``: the run's patient references per dataset (what
    ``apply_optouts`` filters on); ``register``: the register loaded for
    them; ``columns``: per dataset the source names of the ``mrn`` and
    ``patient_id`` columns, for the message. Skipped (no work) when no
    dataset has two differing numbers or no opt-out can be in force.
    """
    registration, period = extract.registration_id, extract.period
    if period.end <= rules.effective_from:
        return []  # nothing of the period is filtered
    differing = _differing(extract)
    if not differing or store.count_types(OPTOUT_EVENT_TYPES, at_most=1) == 0:
        return []
    mrn_keys = pa.array(list(register.exclusion_starts(registration, period, as_of)), pa.string())
    if register.complete and len(mrn_keys) == 0:
        return []  # the whole register was read: nothing in force for this registration
    candidates = [_candidate(extract, name, differ, known, hasher) for name, differ in differing]
    numbers = [c.number_refs for c in candidates if len(c.number_refs)]
    if not numbers:
        return []
    if register.complete:
        number_register = register
    else:
        number_register = OptOutRegister.load_for_column(
            store, pa.chunked_array(numbers, pa.string()), rules
        )
    number_keys = pa.array(
        list(number_register.exclusion_starts(registration, period, as_of)), pa.string()
    )
    counts = [_count(c, mrn_refs[c.name], mrn_keys, number_keys) for c in candidates]
    _judge(registration, period.label, counts, columns or {}, extract.source_kind)
    return counts


def _differing(extract: Extract) -> list[tuple[str, pa.BooleanArray]]:
    """Datasets with both numbers, and their rows in which the two differ (only those with any)."""
    found = []
    for name, dataset in extract.datasets.items():
        names = dataset.identity.column_names
        if "mrn" not in names or "patient_id" not in names or not dataset.num_rows:
            continue
        mrn = dataset.identity.column("mrn").combine_chunks()
        number = dataset.identity.column("patient_id").combine_chunks()
        differ = pc.fill_null(pc.not_equal(mrn, number), False)
        if pc.any(differ).as_py():
            found.append((name, differ))
    return found


def _candidate(
    extract: Extract,
    name: str,
    differ: pa.BooleanArray,
    known: MrnRefCache,
    hasher: PatientRefHasher,
) -> _Candidate:
    """Hash each distinct patient number of the differing rows once, as an MRN."""
    number = pc.filter(
        extract.datasets[name].identity.column("patient_id").combine_chunks(), differ
    )
    encoded = pc.dictionary_encode(number.cast(pa.string()))
    distinct = known.refs_of(encoded.dictionary, hasher)  # refused (not an MRN): null
    return _Candidate(name, differ, pc.take(distinct, encoded.indices))


def _count(
    candidate: _Candidate, mrn_refs: pa.Array, mrn_keys: pa.Array, number_keys: pa.Array
) -> SwapCounts:
    by_mrn_rows = pc.fill_null(pc.is_in(mrn_refs, value_set=mrn_keys), False)
    by_mrn = len(pc.unique(pc.filter(mrn_refs, by_mrn_rows)))
    rows_mrn_hit = pc.filter(by_mrn_rows, candidate.differ)
    number_hit = pc.fill_null(pc.is_in(candidate.number_refs, value_set=number_keys), False)
    only = pc.and_(number_hit, pc.invert(rows_mrn_hit))
    by_number_only = len(pc.unique(pc.filter(candidate.number_refs, only)))
    return SwapCounts(candidate.name, by_number_only, by_mrn)


def _judge(
    registration: str,
    period: str,
    counts: list[SwapCounts],
    columns: Mapping[str, tuple[str, str]],
    source_kind: str,
) -> None:
    swapped = [c for c in counts if c.swapped]
    for c in counts:
        if c.by_number_only and not c.swapped:
            log.warning(
                "registration %s, period %s, dataset %s: %d patient(s) opted out by their "
                "patient number (%s) but not by their MRN (%s), %d by their MRN: taken as "
                "chance matches of two numberings",
                registration,
                period,
                c.dataset,
                c.by_number_only,
                *_names(columns, c.dataset)[::-1],
                c.by_mrn,
            )
    if not swapped:
        return
    parts = []
    for c in swapped:
        mrn_column, number_column = _names(columns, c.dataset)
        parts.append(
            f"dataset {c.dataset}: {c.by_number_only} patient(s) are opted out by the column "
            f"mapped to patient_id ({number_column}) but not by the column mapped to mrn "
            f"({mrn_column}), while {c.by_mrn} are opted out by their MRN"
        )
    raise ConfigError(
        f"registration {registration}, period {period}: {'; '.join(parts)}. Opt-outs are keyed "
        "by the hospital patient number (MRN), so with this mapping patients who objected "
        "would be delivered: are the MRN and patient-number columns swapped in "
        f"source.csv.datasets?{_FHIR_HINT if source_kind == 'fhir' else ''} Nothing of this "
        "run was pseudonymised or sent"
    )


def _names(columns: Mapping[str, tuple[str, str]], dataset: str) -> tuple[str, str]:
    return columns.get(dataset, DEFAULT_COLUMNS)
