"""Which records belong to a delivery period.

A record of the period dataset belongs to a period when its period variable
(e.g. ``operatie.datum_operatie``) falls in ``[start, end)``. A record of a
*related* dataset (``complicatie.operatie_id -> operatie.operatie_id``) has
no period date of its own: it belongs to the period of its parent record, so
it is kept only when its parent is kept. Related datasets of related datasets
follow the same rule down the chain.

A related record whose parent is not in the extract at all (not even outside
the period) is an *orphan*: it is left out too, and its row reference is
listed so validation can report it instead of it silently disappearing.
A dataset with no relation path to the period dataset cannot be placed in a
period: a :class:`ConfigError` (the catalogue refuses such a registration
already, decision 0392; kept whole it would be delivered again every period).

A period date that is empty or does not parse is not a type problem to report
later but an :class:`ExtractError` now: without it the record cannot be
placed, so any delivery built from the extract would be wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.arrow_counts import count_true
from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.errors import ConfigError, ExtractError
from aanlevering.extract.rows import ArrayLike, Rows
from aanlevering.periods import Period

#: Failing rows named in a period-date error; the rest are counted.
MAX_LISTED = 5


@dataclass(frozen=True)
class PeriodSelection:
    """Records of a dataset in the period, and the keys of those left out.

    ``before``: how many of the ``outside`` records are dated before the
    period (the rest after it); ``before_keys`` their keys, so a related
    record is placed before or after with its parent (decision 0466).
    """

    kept: Rows
    outside: int
    dropped_keys: Mapping[str, ArrayLike]
    before: int = 0
    before_keys: Mapping[str, ArrayLike] = field(default_factory=dict)


def period_mask(values: ArrayLike, period: Period) -> ArrayLike:
    """True where a date (or date-time) lies in the period."""
    if pa.types.is_timestamp(values.type):
        start: pa.Scalar = pa.scalar(datetime.combine(period.start, time()), values.type)
        end: pa.Scalar = pa.scalar(datetime.combine(period.end, time()), values.type)
    else:
        start = pa.scalar(period.start, pa.date32())
        end = pa.scalar(period.end, pa.date32())
    return pc.and_(pc.greater_equal(values, start), pc.less(values, end))


def before_mask(values: ArrayLike, period: Period) -> ArrayLike:
    """True where a date (or date-time) lies before the period's first day."""
    if pa.types.is_timestamp(values.type):
        start: pa.Scalar = pa.scalar(datetime.combine(period.start, time()), values.type)
    else:
        start = pa.scalar(period.start, pa.date32())
    return pc.fill_null(pc.less(values, start), False)


_SEPARATOR = r"[-./]"
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_DATE_SHAPED = re.compile(
    rf"(?:\d{{4}}(?:{_SEPARATOR}\d{{1,2}}){{0,2}}"  # 2026, 2026-02, 2026-02-31
    rf"|\d{{1,2}}{_SEPARATOR}\d{{1,2}}{_SEPARATOR}(?:\d{{4}}|\d{{2}}))"  # 31-02-2026, 2-3-50
    rf"{_TIME}"
)


def looks_like_a_date(text: str) -> bool:
    """Whether an unusable period date's shape may be described: it has the shape of a date.

    A row whose columns shifted puts a BSN, a patient number, a phone number or
    a name where the date should be; those are never echoed in an error. Only
    the shape of a date is enough: digits and separators alone are not, since a
    BSN is often written ``1234.56.789`` or ``123 456 789``. A date part holds
    at most eight digits, too few for a nine-digit BSN.
    """
    return _DATE_SHAPED.fullmatch(text) is not None


_DATE_PART = re.compile(r"\s*(\d{8})|\s*(\d{1,4})[-./ ](\d{1,2})[-./ ](\d{1,4})")


def _day(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) of a date written ISO, day-first or as YYYYMMDD, time ignored."""
    match = _DATE_PART.match(text)
    if match is None:
        return None
    if match.group(1):
        digits = match.group(1)
        return int(digits[:4]), int(digits[4:6]), int(digits[6:])
    first, month, last = match.group(2, 3, 4)
    if len(first) == 4:
        return int(first), int(month), int(last)
    return (int(last), int(month), int(first)) if len(last) == 4 else None


def described_date(text: str) -> str:
    """An unusable date-shaped value as an error may describe it: its shape, never its digits.

    Why not the value (decision 0733): a date column mapped by mistake (the
    mother's birth date, a shifted row) holds someone's birth date, which 0604
    recognises only when it is the record's own; a birth date is an identifier
    wherever it is printed. The shape (``dd/dd/dddd``) says which format the
    export wrote, and a day off the calendar (``31-02-2026``) is said as such.
    """
    shape = re.sub(r"\d", "d", text[:40])
    day = _day(text)
    if day is not None and not _on_calendar(*day):
        return f"written as {shape!r}, not a day on the calendar; value not shown"
    return f"written as {shape!r}; value not shown"


def _on_calendar(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def same_birth_date(value: str, birth: str) -> bool:
    """Whether ``value`` is the birth date ``birth``: the same text, or the same day
    however either is written (``03/09/1954`` is ``1954-09-03``)."""
    if value.strip() == birth.strip():
        return True
    day = _day(value)
    return day is not None and day == _day(birth)


class PeriodDateFailures:
    """Records whose period date is empty or unparseable, gathered over batches, raised once.

    Raw values are shown only when ``printable``: dates of care events are not
    direct identifiers, but a column that also feeds an identity field (such as
    a birth date) is never echoed.
    """

    def __init__(self, *, what: str, expected: str, printable: bool) -> None:
        self.what = what
        self.expected = expected
        self.printable = printable
        self.count = 0
        self.listed: list[str] = []

    def check(
        self,
        raw: ArrayLike,
        parsed: ArrayLike,
        row_refs: ArrayLike,
        births: ArrayLike | None = None,
    ) -> None:
        """Note every record of this batch whose ``parsed`` period date is null.

        ``births``: each record's birth date as exported, when the source has one; a
        value that is the record's own birth date is never shown (decision 0604): a
        birth date column mapped as the period date would otherwise be echoed.
        """
        bad = pc.is_null(parsed)
        count = count_true(bad)
        if not count:
            return
        self.count += count
        room = MAX_LISTED - len(self.listed)
        if room <= 0:
            return
        indices = pa.array(pc.indices_nonzero(bad).to_pylist()[:room], pa.int64())
        refs = pc.take(row_refs, indices).to_pylist()
        values = pc.take(raw, indices).to_pylist()
        own = pc.take(births, indices).to_pylist() if births is not None else [None] * len(refs)
        for ref, value, birth in zip(refs, values, own, strict=True):
            if value is None:
                self.listed.append(f"{ref} (empty)")
            elif self.printable and birth is not None and same_birth_date(str(value), str(birth)):
                self.listed.append(f"{ref} (the record's own birth date, not shown)")
            elif self.printable and looks_like_a_date(str(value)):
                self.listed.append(f"{ref} ({described_date(str(value))})")
            else:
                self.listed.append(f"{ref} (value not shown)")

    def raise_if_any(self) -> None:
        """ExtractError naming the records, when there were any."""
        if not self.count:
            return
        more = f" and {self.count - len(self.listed)} more" if self.count > len(self.listed) else ""
        raise ExtractError(
            f"{self.count} record(s) have no usable period date {self.what} (expected "
            f"{self.expected}), so they cannot be placed in a delivery period: "
            f"{', '.join(self.listed)}{more}"
        )


def select_period(
    rows: Rows, variable: str, period: Period, key_variables: Iterable[str]
) -> PeriodSelection:
    """Keep the records whose ``variable`` falls in ``period``."""
    dates = rows.clinical.column(variable)
    mask = period_mask(dates, period)
    kept = rows.filter(mask)
    outside = pc.invert(mask)
    early = before_mask(dates, period)
    names = list(key_variables)
    dropped = {name: pc.filter(rows.clinical.column(name), outside) for name in names}
    before_keys = {name: pc.filter(rows.clinical.column(name), early) for name in names}
    return PeriodSelection(
        kept=kept,
        outside=rows.num_rows - kept.num_rows,
        dropped_keys=dropped,
        before=count_true(early),
        before_keys=before_keys,
    )


def referenced_variables(config: RegistrationConfig, dataset_name: str) -> set[str]:
    """Variables of ``dataset_name`` that another dataset's relation points at."""
    return {
        relation.target_variable
        for dataset in config.dictionary.datasets
        for relation in dataset.relations
        if relation.dataset == dataset_name
    }


@dataclass(frozen=True)
class Restricted:
    """A dataset after period selection, with what was left out."""

    rows: Rows
    outside: int
    orphans: tuple[str, ...] = ()
    #: How many of ``outside`` are placed before the period (by their own or a parent's date).
    before: int = 0


def relation_masks(
    values: ArrayLike, kept_keys: ArrayLike, dropped_keys: ArrayLike | None
) -> tuple[ArrayLike, ArrayLike]:
    """Per related record: is its parent kept, and is its parent in the extract at all."""
    in_period = pc.fill_null(pc.is_in(values, value_set=_plain(kept_keys, values.type)), False)
    if dropped_keys is None or len(dropped_keys) == 0:
        return in_period, in_period
    outside = pc.fill_null(pc.is_in(values, value_set=_plain(dropped_keys, values.type)), False)
    return in_period, pc.or_(in_period, outside)


def _in(values: ArrayLike, keys: ArrayLike | None) -> ArrayLike:
    """True where ``values`` is one of ``keys`` (all False when there are none)."""
    found = keys if keys is not None else pa.array([], values.type)
    return pc.fill_null(pc.is_in(values, value_set=_plain(found, values.type)), False)


def _plain(values: ArrayLike, target: pa.DataType) -> pa.Array:
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return pc.cast(array, target) if array.type != target else array


def restrict_related(
    config: RegistrationConfig,
    selected: Mapping[str, PeriodSelection],
    unrestricted: Mapping[str, Rows],
) -> dict[str, Restricted]:
    """Apply the period to related datasets through their relations.

    ``selected`` holds the period dataset after :func:`select_period`;
    ``unrestricted`` every other dataset with all its records.
    """
    done: dict[str, Restricted] = {
        name: Restricted(s.kept, s.outside, before=s.before) for name, s in selected.items()
    }
    dropped: dict[str, Mapping[str, ArrayLike]] = {
        name: s.dropped_keys for name, s in selected.items()
    }
    early: dict[str, Mapping[str, ArrayLike]] = {
        name: s.before_keys for name, s in selected.items()
    }
    pending = dict(unrestricted)
    progress = True
    while pending and progress:
        progress = False
        for name in list(pending):
            relations = [r for r in config.dictionary.dataset(name).relations if r.dataset in done]
            if not relations:
                continue
            rows = pending.pop(name)
            keep: ArrayLike | None = None
            known: ArrayLike | None = None
            before: ArrayLike | None = None
            for relation in relations:
                is_before = _in(
                    rows.clinical.column(relation.variable),
                    early.get(relation.dataset, {}).get(relation.target_variable),
                )
                before = is_before if before is None else pc.or_(before, is_before)
                in_period, has_parent = relation_masks(
                    rows.clinical.column(relation.variable),
                    done[relation.dataset].rows.clinical.column(relation.target_variable),
                    dropped.get(relation.dataset, {}).get(relation.target_variable),
                )
                keep = in_period if keep is None else pc.and_(keep, in_period)
                known = has_parent if known is None else pc.and_(known, has_parent)
            assert keep is not None and known is not None and before is not None
            orphan_mask = pc.invert(known)
            orphans = tuple(pc.filter(rows.row_refs, orphan_mask).to_pylist())
            kept = rows.filter(keep)
            left_out = pc.invert(keep)
            # Before the period: a parent is before it, the record neither kept nor an orphan.
            before = pc.and_(pc.and_(before, left_out), known)
            dropped[name] = {
                variable: pc.filter(rows.clinical.column(variable), left_out)
                for variable in referenced_variables(config, name)
            }
            early[name] = {
                variable: pc.filter(rows.clinical.column(variable), before)
                for variable in referenced_variables(config, name)
            }
            outside = rows.num_rows - kept.num_rows - len(orphans)
            count_before = count_true(before)
            done[name] = Restricted(kept, outside, orphans, before=count_before)
            progress = True
    if pending:
        raise ConfigError(
            f"registration {config.id}: dataset(s) {', '.join(sorted(pending))} have no "
            f"relation to the period dataset {config.period_dataset}, so their records cannot "
            "be placed in a delivery period (decision 0392)"
        )
    return done
