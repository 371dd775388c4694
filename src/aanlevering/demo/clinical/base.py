"""Columns of clinical values and the generic, dictionary-driven value generator.

A registration's clinical model (one module per dictionary) fills the
variables it knows with realistic distributions; whatever it leaves empty is
filled here from the dictionary alone (option sets, ranges, date order
rules), so a registration added to the catalogue gets usable demo data before
anyone writes a model for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from aanlevering.catalogue import DataDictionary, Dataset, Variable

ColumnKind = Literal["int", "float", "date", "datetime", "bool", "str"]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
DateArray = npt.NDArray[np.datetime64]

KIND_OF_TYPE: Mapping[str, ColumnKind] = {
    "integer": "int",
    "decimal": "float",
    "date": "date",
    "datetime": "datetime",
    "boolean": "bool",
    "code": "str",
    "string": "str",
}

YEAR_START = np.datetime64("2026-01-01")
YEAR_DAYS = 365
#: Share of care events dated in the last quarter of 2025: outside every
#: 2026 period, so period selection has something to drop.
LATE_2025_SHARE = 0.04


@dataclass(frozen=True)
class Column:
    """One variable over the records of a chunk; ``missing`` marks empty cells.

    ``values`` holds int64, float64, datetime64[D] (date), datetime64[m]
    (datetime), bool or Python str objects. ``decimals`` is how many decimals
    a decimal variable is written with.
    """

    kind: ColumnKind
    values: npt.NDArray[np.generic]
    missing: BoolArray
    decimals: int = 1

    def __len__(self) -> int:
        return len(self.values)


def column(
    kind: ColumnKind,
    values: npt.ArrayLike,
    missing: npt.ArrayLike | None = None,
    decimals: int = 1,
) -> Column:
    """Build a Column, converting ``values`` to the array type of ``kind``."""
    if kind == "str":
        array = np.asarray(values, dtype=object)
    elif kind == "int":
        array = np.asarray(values).astype(np.int64)
    elif kind == "float":
        array = np.asarray(values, dtype=np.float64)
    elif kind == "date":
        array = np.asarray(values).astype("datetime64[D]")
    elif kind == "datetime":
        array = np.asarray(values).astype("datetime64[m]")
    else:
        array = np.asarray(values, dtype=np.bool_)
    if missing is None:
        mask = np.zeros(len(array), dtype=np.bool_)
    else:
        mask = np.asarray(missing, dtype=np.bool_).copy()
    return Column(kind=kind, values=array, missing=mask, decimals=decimals)


@dataclass
class DatasetChunk:
    """The records of one dataset generated for one chunk of patients.

    ``patient`` indexes the chunk's People; ``parent`` indexes the parent
    dataset's records for a related dataset (e.g. a complication's operation).
    ``anchor`` is each record's period date (its parent's for related
    datasets): the day the care event happened.
    """

    name: str
    patient: IntArray
    anchor: DateArray
    parent: IntArray | None = None
    columns: dict[str, Column] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.patient)


def care_dates(
    rng: np.random.Generator, n: int, weekdays_only: bool = False, summer_peak: bool = False
) -> DateArray:
    """Dates of care events over 2026, with a few in October-December 2025.

    Elective care happens on weekdays; trauma peaks in summer.
    """
    late = rng.random(n) < LATE_2025_SHARE
    if summer_peak:
        # a gentle seasonal wave: 1 + 0.3 sin(...) peaking early July
        u = rng.random(n * 2)
        day = (u[:n] * YEAR_DAYS).astype(np.int64)
        keep = u[n:] < (1 + 0.3 * np.sin(2 * np.pi * (day - 91) / YEAR_DAYS)) / 1.3
        day = np.where(keep, day, rng.integers(0, YEAR_DAYS, n))
    else:
        day = rng.integers(0, YEAR_DAYS, n)
    day = np.where(late, -rng.integers(1, 92, n), day)
    dates = YEAR_START + day.astype("timedelta64[D]")
    if weekdays_only:
        # numpy weekday: 1970-01-01 was a Thursday
        weekday = (dates.astype(np.int64) + 3) % 7
        dates = dates + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0)).astype(
            "timedelta64[D]"
        )
    result: DateArray = dates
    return result


def pick(
    rng: np.random.Generator, codes: Sequence[str], weights: Sequence[float], n: int
) -> npt.NDArray[np.object_]:
    """``n`` codes drawn with the given relative weights, as an object array."""
    p = np.asarray(weights, dtype=np.float64)
    chosen = rng.choice(len(codes), size=n, p=p / p.sum())
    result: npt.NDArray[np.object_] = np.asarray(codes, dtype=object)[chosen]
    return result


def days(values: npt.ArrayLike) -> npt.NDArray[np.timedelta64]:
    """Integer day counts as a timedelta64[D] array."""
    result: npt.NDArray[np.timedelta64] = (
        np.asarray(values).astype(np.int64).astype("timedelta64[D]")
    )
    return result


class ClinicalModel:
    """Generic clinical model: values from the dictionary alone.

    Subclasses (one per dictionary) override :meth:`demographics`,
    :meth:`record_counts` and :meth:`fill` with realistic distributions and
    set ``key_prefixes`` and ``iso_date_datasets``.
    """

    #: Prefix of record keys per dataset (default: first letters of the name).
    key_prefixes: ClassVar[Mapping[str, str]] = {}
    #: Datasets whose CSV export writes dates as ISO (yyyy-mm-dd).
    iso_date_datasets: ClassVar[frozenset[str]] = frozenset()
    #: Expected records per patient per dataset, to size the bad-row plan.
    expected_per_patient: ClassVar[Mapping[str, float]] = {}

    def key_prefix(self, dataset: str) -> str:
        """Prefix of this dataset's record keys."""
        return self.key_prefixes.get(dataset, dataset[:2].upper())

    def demographics(
        self, rng: np.random.Generator, n: int
    ) -> tuple[npt.NDArray[np.int8], FloatArray]:
        """Sex (0 M, 1 V, 2 O) and age in years of ``n`` patients."""
        sex = rng.choice(3, size=n, p=[0.495, 0.495, 0.01]).astype(np.int8)
        age = rng.uniform(18, 90, n)
        return sex, age

    def record_counts(
        self,
        rng: np.random.Generator,
        dataset: Dataset,
        parent: DatasetChunk | None,
        n_patients: int,
    ) -> IntArray:
        """Records per patient (primary dataset) or per parent record (related one)."""
        if parent is None:
            return np.ones(n_patients, dtype=np.int64)
        return rng.poisson(0.4, len(parent)).astype(np.int64)

    def fill(
        self,
        rng: np.random.Generator,
        dataset: Dataset,
        chunk: DatasetChunk,
        context: FillContext,
    ) -> None:
        """Set realistic columns on ``chunk``; the generic filler does the rest."""

    def fhir_extras(self, dataset: str, role: str) -> Mapping[str, object]:
        """Static elements to add to FHIR resources of a role, e.g. a SNOMED diagnosis code.

        Roles: ``focus``, ``resolve:<element>`` (a resource a path resolves
        to), ``related:<code>`` (an Observation the mapping names).
        """
        return {}


@dataclass(frozen=True)
class FillContext:
    """What a model may look at while filling a dataset."""

    dictionary: DataDictionary
    sex: npt.NDArray[np.int8]
    age_years: FloatArray
    period_variable: str | None
    parents: Mapping[str, DatasetChunk]


def generic_fill(
    rng: np.random.Generator,
    dictionary: DataDictionary,
    dataset: Dataset,
    chunk: DatasetChunk,
    wanted: Sequence[str],
) -> None:
    """Fill every variable in ``wanted`` that the model left unset."""
    n = len(chunk)
    dates_to_fill = [
        name
        for name in wanted
        if name not in chunk.columns and dataset.variable(name).type in ("date", "datetime")
    ]
    _fill_dates(rng, dataset, chunk, dates_to_fill)
    for name in wanted:
        if name in chunk.columns:
            continue
        variable = dataset.variable(name)
        chunk.columns[name] = _generic_column(rng, dictionary, variable, n)
    _enforce_conditionals(rng, dictionary, dataset, chunk)


def _generic_column(
    rng: np.random.Generator, dictionary: DataDictionary, variable: Variable, n: int
) -> Column:
    kind = KIND_OF_TYPE[variable.type]
    if variable.option_set:
        codes = dictionary.option_sets[variable.option_set].codes
        return column("str", pick(rng, codes, [1.0] * len(codes), n))
    low = variable.min if variable.min is not None else 0.0
    high = variable.max if variable.max is not None else 100.0
    if kind == "int":
        return column("int", rng.integers(int(low), int(high) + 1, n))
    if kind == "float":
        return column("float", np.round(rng.uniform(low, high, n), 1))
    if kind == "bool":
        return column("bool", rng.random(n) < 0.2)
    if kind in ("date", "datetime"):
        return column(kind, care_dates(rng, n))
    text = "demo"[: variable.max_length] if variable.max_length else "demo"
    return column("str", np.full(n, text, dtype=object))


def _fill_dates(
    rng: np.random.Generator, dataset: Dataset, chunk: DatasetChunk, names: Sequence[str]
) -> None:
    """Dates that respect the dataset's date_order rules, anchored on the care date."""
    todo = set(names)
    known: dict[str, DateArray] = {
        name: col.values.astype("datetime64[D]")
        for name, col in chunk.columns.items()
        if col.kind in ("date", "datetime")
    }
    rules = [
        (str(v.params["earlier"]), str(v.params["later"]))
        for v in dataset.validations
        if v.kind == "date_order"
    ]
    n = len(chunk)
    progress = True
    while todo and progress:
        progress = False
        for earlier, later in rules:
            if earlier in known and later in todo:
                known[later] = known[earlier] + days(rng.integers(0, 15, n))
                todo.discard(later)
                progress = True
            elif later in known and earlier in todo:
                known[earlier] = known[later] - days(rng.integers(0, 15, n))
                todo.discard(earlier)
                progress = True
        if not progress and todo:
            first = sorted(todo)[0]
            known[first] = chunk.anchor + days(rng.integers(0, 31, n))
            todo.discard(first)
            progress = True
    for name in names:
        kind = KIND_OF_TYPE[dataset.variable(name).type]
        values = known[name]
        if kind == "datetime":
            minutes = rng.integers(7 * 60, 22 * 60, n).astype("timedelta64[m]")
            chunk.columns[name] = column(kind, values.astype("datetime64[m]") + minutes)
        else:
            chunk.columns[name] = column(kind, values)


def condition_mask(col: Column, when_in: Sequence[object]) -> BoolArray:
    """Rows whose value is one of ``when_in`` (booleans compare as 'true'/'false')."""
    wanted = [str(v) for v in when_in]
    if col.kind == "bool":
        flags = col.values.astype(np.bool_)
        hit = np.zeros(len(flags), dtype=np.bool_)
        if any(w.lower() == "true" for w in wanted):
            hit |= flags
        if any(w.lower() == "false" for w in wanted):
            hit |= ~flags
    else:
        hit = np.isin(col.values.astype(str), wanted)
    result: BoolArray = hit & ~col.missing
    return result


def _enforce_conditionals(
    rng: np.random.Generator, dictionary: DataDictionary, dataset: Dataset, chunk: DatasetChunk
) -> None:
    """A value is present exactly when its required_if / empty_unless condition holds."""
    for rule in dataset.validations:
        if rule.kind not in ("required_if", "empty_unless"):
            continue
        target = str(rule.params["variable"])
        when = str(rule.params["when_variable"])
        if target not in chunk.columns or when not in chunk.columns:
            continue
        when_in = rule.params.get("when_in", [])
        hit = condition_mask(chunk.columns[when], when_in if isinstance(when_in, list) else [])
        col = chunk.columns[target]
        if rule.kind == "empty_unless":
            col.missing[~hit] = True
        else:
            col.missing[hit] = False


SCT = "http://snomed.info/sct"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def concept(system: str, code: str, display: str | None = None) -> dict[str, object]:
    """A CodeableConcept with one coding (for static FHIR decorations)."""
    coding: dict[str, object] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


CONFIRMED_ACTIVE: Mapping[str, object] = {
    "clinicalStatus": concept(CONDITION_CLINICAL, "active"),
    "verificationStatus": concept(CONDITION_VERIFICATION, "confirmed"),
}
