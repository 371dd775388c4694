"""The opt-out register: a projection of the opt-out events, asked "is this patient opted out?".

An opt-out is identified by its patient reference, registration date and
scope; a withdrawal names the same three and ends it from ``withdrawn_on``.
The register answers per patient reference, registration and period (or
day), under :class:`~aanlevering.optout.rules.OptOutRules`:

- nothing counts for care before ``effective_from`` (2027-01-01 by default);
- an opt-out counts on ``as_of`` (the delivery day) when it was registered on
  or before it and not withdrawn by then; of its withdrawals and
  reinstatements, the latest recorded one counts (decision 0351);
- ``whole-period``: it removes the patient from every period ending after
  ``effective_from``; ``from-registration-date``: only from the later of its
  registration date and ``effective_from`` on.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.events.model import RecordedEvent
from aanlevering.events.store import EventStore
from aanlevering.optout.events import (
    OPTOUT_EVENT_TYPES,
    OptOutRegistered,
    OptOutReinstated,
    OptOutWithdrawn,
    optout_stream,
    scope_key,
)
from aanlevering.optout.rules import OptOutRules
from aanlevering.periods import Period, run_day

log = logging.getLogger(__name__)

#: Reading one opt-out event by type costs about this many looked-up stream names
#: (decoding against an index probe, measured on SQLite); it decides how
#: :meth:`OptOutRegister.load_for` reads.
LOOKUP_COST_RATIO = 8


@dataclass(frozen=True)
class OptOut:
    """One opt-out of one patient (by reference), with its scope and possible withdrawal."""

    patient_ref: str
    registered_on: date
    all_registrations: bool
    registrations: frozenset[str] = frozenset()
    withdrawn_on: date | None = None

    @property
    def scope(self) -> str:
        """``all`` or the registration ids joined by ``|``."""
        return scope_key(self.all_registrations, self.registrations)

    def covers(self, registration: str) -> bool:
        """Whether the opt-out is about ``registration``."""
        return self.all_registrations or registration in self.registrations

    def in_force_on(self, day: date) -> bool:
        """Registered on or before ``day`` and not withdrawn by then."""
        return self.registered_on <= day and (self.withdrawn_on is None or day < self.withdrawn_on)


@dataclass(frozen=True)
class RegisterSummary:
    """Counts only (never who): for ``optout list``."""

    as_of: date
    patients: int
    in_force: int
    withdrawn: int
    registered_later: int
    by_scope: Mapping[str, int]


@dataclass(frozen=True)
class _Fact:
    """What the register needs of one opt-out event (registered or withdrawn)."""

    patient_ref: str
    registered_on: date
    all_registrations: bool
    registrations: frozenset[str]
    withdrawn_on: date | None
    reinstated: bool = False


def _fact(event: object) -> _Fact | None:
    if isinstance(event, OptOutRegistered | OptOutWithdrawn | OptOutReinstated):
        return _Fact(
            event.patient_ref,
            event.registered_on,
            event.all_registrations,
            event.registrations,
            event.withdrawn_on if isinstance(event, OptOutWithdrawn) else None,
            reinstated=isinstance(event, OptOutReinstated),
        )
    return None


_SCHEMA_VERSIONS = {
    OptOutRegistered.event_type: OptOutRegistered.schema_version,
    OptOutWithdrawn.event_type: OptOutWithdrawn.schema_version,
}


def _read_quickly(record: RecordedEvent) -> _Fact | None:
    """The fact from a payload of the current shape, without the generic decoder.

    Why: the register is projected from every opt-out in the log on each run
    (tens of thousands at a large hospital), and the generic decoder costs
    about 0.1 ms per event. Anything unexpected returns None, and the caller
    decodes (and validates) the usual way.
    """
    if record.schema_version != _SCHEMA_VERSIONS.get(record.event_type):
        return None
    payload = record.payload
    if not isinstance(payload, Mapping):
        return None  # the decoder names the row
    withdrawn = record.event_type == OptOutWithdrawn.event_type
    try:
        ref, all_registrations = payload["patient_ref"], payload["all_registrations"]
        registrations = payload.get("registrations", [])
        texts = [payload["registered_on"], payload["withdrawn_on"] if withdrawn else ""]
        if not (
            type(ref) is str
            and type(all_registrations) is bool
            and type(registrations) is list
            and all(type(r) is str for r in registrations)
            and all(type(t) is str for t in texts)
        ):
            return None
        return _Fact(
            ref,
            date.fromisoformat(texts[0]),
            all_registrations,
            frozenset(registrations),
            date.fromisoformat(texts[1]) if withdrawn else None,
        )
    except (KeyError, ValueError):
        return None


class OptOutRegister:
    """Every opt-out, by patient reference, with the rules that decide when they count."""

    def __init__(self, optouts: Iterable[OptOut], rules: OptOutRules | None = None) -> None:
        self.rules = rules or OptOutRules()
        #: Read from every opt-out event (:meth:`load`), not only some patients' streams:
        #: what it does not hold is in force for nobody (decision 0610).
        self.complete = False
        by_patient: dict[str, list[OptOut]] = {}
        for optout in optouts:
            by_patient.setdefault(optout.patient_ref, []).append(optout)
        self._by_patient = {ref: tuple(items) for ref, items in by_patient.items()}

    @classmethod
    def from_records(
        cls, records: Iterable[RecordedEvent], rules: OptOutRules | None = None
    ) -> OptOutRegister:
        """Fold opt-out events (other types ignored) into a register.

        Registrations may come in any order. Of an opt-out's withdrawals and
        reinstatements the one latest in the log counts (decision 0351): all of
        one opt-out's facts are in one stream, so this is the source's latest word.
        """
        registered: dict[tuple[str, date, str], OptOut] = {}
        withdrawals: dict[tuple[str, date, str], tuple[int, date | None]] = {}
        for record in records:
            if record.event_type not in OPTOUT_EVENT_TYPES:
                continue
            fact = _read_quickly(record) or _fact(record.to_event())
            if fact is None:
                continue
            if fact.withdrawn_on is None and not fact.reinstated:
                optout = OptOut(
                    fact.patient_ref,
                    fact.registered_on,
                    fact.all_registrations,
                    frozenset() if fact.all_registrations else fact.registrations,
                )
                registered.setdefault(
                    (optout.patient_ref, optout.registered_on, optout.scope), optout
                )
            else:
                key = (
                    fact.patient_ref,
                    fact.registered_on,
                    scope_key(fact.all_registrations, fact.registrations),
                )
                earlier = withdrawals.get(key)
                if earlier is None or earlier[0] < record.position:
                    withdrawals[key] = (record.position, fact.withdrawn_on)
        orphans = len(set(withdrawals) - set(registered))
        if orphans:
            log.warning("%d withdrawal(s) name an opt-out the log does not hold; ignored", orphans)
        # Registered opt-outs have no withdrawal yet: only the withdrawn ones are copied
        # (dataclasses.replace per opt-out was a tenth of a second per 30,000, twice a run).
        optouts = [
            replace(optout, withdrawn_on=withdrawals[key][1]) if key in withdrawals else optout
            for key, optout in registered.items()
        ]
        return cls(optouts, rules)

    @classmethod
    def load(cls, store: EventStore, rules: OptOutRules | None = None) -> OptOutRegister:
        """Project the register from every opt-out event (read by type, not the whole log)."""
        register = cls.from_records(store.read_types(OPTOUT_EVENT_TYPES), rules)
        register.complete = True
        log.debug("opt-out register: %d patient(s)", len(register))
        return register

    @classmethod
    def load_for(
        cls, store: EventStore, patient_refs: Iterable[str], rules: OptOutRules | None = None
    ) -> OptOutRegister:
        """The register as far as these patients are concerned (what one run needs).

        Why: a run asks only about its own patients, and every opt-out fact of
        a patient is in the stream ``optout-<ref>``. When the log holds fewer
        opt-out events than the run has patients the whole register is read
        by type; otherwise the patients' streams are looked up by name, so
        the cost follows the run, not the size of the log or the register.
        Either way the answers for these patients are those of :meth:`load`
        (pinned by a test).
        """
        refs = list(dict.fromkeys(patient_refs))
        cheap = len(refs) // LOOKUP_COST_RATIO  # read them all when there are at most this many
        if store.count_types(OPTOUT_EVENT_TYPES, at_most=cheap + 1) <= cheap:
            return cls.load(store, rules)
        records = store.read_streams(optout_stream(ref) for ref in refs)
        register = cls.from_records(records, rules)
        log.debug("opt-out register: %d of %d patient(s) opted out", len(register), len(refs))
        return register

    @classmethod
    def load_for_column(
        cls, store: EventStore, refs: pa.Array | pa.ChunkedArray, rules: OptOutRules | None = None
    ) -> OptOutRegister:
        """:meth:`load_for` of the distinct non-empty references in a run's column.

        Why: a million references as Python strings (a set of them, then a
        list) cost about a second of ``apply_optouts``. The distinct references
        are found in Arrow, and made Python strings only when their streams
        are read by name; the reading rule is :meth:`load_for`'s, on the same
        count, so the register is the one it gives (pinned by a test).
        """
        present = pc.filter(refs, pc.not_equal(refs, ""))  # nulls are dropped too
        distinct = pc.unique(present)
        cheap = len(distinct) // LOOKUP_COST_RATIO
        if store.count_types(OPTOUT_EVENT_TYPES, at_most=cheap + 1) <= cheap:
            return cls.load(store, rules)
        return cls.load_for(store, distinct.to_pylist(), rules)

    @classmethod
    def load_naming(
        cls, store: EventStore, refs: pa.Array | pa.ChunkedArray, rules: OptOutRules | None = None
    ) -> tuple[OptOutRegister, list[str]]:
        """:meth:`load_for` of a run's reference column, and the distinct references to ask about.

        Why: a million references as Python strings cost about a second. When the
        log holds fewer opt-out events than the column has references (the rule of
        :meth:`load_for`), the whole register is read and Arrow picks the
        references it names; otherwise the distinct references' streams are read.
        """
        cheap = len(refs) // LOOKUP_COST_RATIO
        if store.count_types(OPTOUT_EVENT_TYPES, at_most=cheap + 1) <= cheap:
            register = cls.load(store, rules)
            named = pa.array(sorted({optout.patient_ref for optout in register}), pa.string())
            picked = pc.filter(refs, pc.is_in(refs, value_set=named))
            return register, pc.unique(picked).to_pylist()
        distinct: list[str] = pc.unique(refs).to_pylist()
        return cls.load_for(store, distinct, rules), distinct

    def __len__(self) -> int:
        return len(self._by_patient)

    def __iter__(self) -> Iterator[OptOut]:
        for items in self._by_patient.values():
            yield from items

    def optouts_of(self, patient_ref: str) -> tuple[OptOut, ...]:
        """The opt-outs of one patient (empty when none)."""
        return self._by_patient.get(patient_ref, ())

    def exclusion_start(
        self, optout: OptOut, registration: str, period: Period, as_of: date
    ) -> date | None:
        """From which day ``optout`` removes care of ``period`` for ``registration``; None: not."""
        if not optout.covers(registration) or not optout.in_force_on(as_of):
            return None
        if period.end <= self.rules.effective_from:
            return None  # the whole period lies before the regime applies
        start = max(period.start, self.rules.effective_from)
        if self.rules.registered_during_period == "from-registration-date":
            start = max(start, optout.registered_on)
            if start >= period.end:
                return None
        return start

    def exclusion_starts(
        self, registration: str, period: Period, as_of: date | None = None
    ) -> dict[str, date]:
        """Per opted-out patient reference, the first day of ``period`` whose care is removed."""
        as_of = as_of or run_day()
        starts: dict[str, date] = {}
        for ref, items in self._by_patient.items():
            days = [d for o in items if (d := self.exclusion_start(o, registration, period, as_of))]
            if days:
                starts[ref] = min(days)
        return starts

    def is_opted_out(
        self, patient_ref: str, registration: str, when: Period | date, as_of: date | None = None
    ) -> bool:
        """Whether the patient's data for ``registration`` in ``when`` must stay home.

        For a period: any care of it is removed (see the module rules). For a
        day: care on that day is removed. ``as_of`` is the delivery day
        (default: today; for a day, the day itself when later).
        """
        if isinstance(when, Period):
            period = when
            as_of = as_of or run_day()
        else:
            period = Period(when, date.fromordinal(when.toordinal() + 1), "month")
            as_of = max(as_of or when, when)
        return any(
            self.exclusion_start(o, registration, period, as_of) is not None
            for o in self.optouts_of(patient_ref)
        )

    def summary(self, as_of: date) -> RegisterSummary:
        """Counts per state and scope on ``as_of``; carries no patient references."""
        in_force = withdrawn = later = 0
        by_scope: Counter[str] = Counter()
        for optout in self:
            if optout.withdrawn_on is not None and optout.withdrawn_on <= as_of:
                withdrawn += 1
            elif optout.registered_on > as_of:
                later += 1
            else:
                in_force += 1
                by_scope[optout.scope] += 1
        return RegisterSummary(as_of, len(self), in_force, withdrawn, later, dict(by_scope))
