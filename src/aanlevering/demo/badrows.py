"""Deliberately bad records, so validation has something to find.

Which variables can be spoiled, and how, is read off the dictionary:
required variables can go missing, ranged numbers go out of range, coded
variables get a code outside their option set, non-period dates get a wrong
format (CSV only: FHIR dates are typed), and error-level cross-field rules
get violated. The period variable, record keys, references and the
patient's own sex are never touched: a spoilt period date would drop the
record from every period instead of reporting it.

How many: ``ceil(share * expected records)``, and at least one of each kind
once a run has 200 patients or more; kinds are dealt round-robin over the
whole run, so every kind shows up however the run is chunked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from aanlevering.catalogue import RegistrationConfig
from aanlevering.demo.clinical.base import (
    YEAR_START,
    BoolArray,
    DatasetChunk,
    condition_mask,
    days,
)
from aanlevering.demo.records import DatasetPlan, RegistrationPlan

BadKind = Literal[
    "missing_required", "out_of_range", "invalid_code", "wrong_date_format", "cross_field"
]
KINDS: tuple[BadKind, ...] = (
    "missing_required",
    "out_of_range",
    "invalid_code",
    "wrong_date_format",
    "cross_field",
)
PROVIDER_TYPES = ("hospital", "umc", "zbc")
#: Below this many patients a run may lack some kinds (there are too few records).
ALL_KINDS_FROM = 200


@dataclass(frozen=True)
class Candidate:
    """One way to spoil a record: a kind applied to a variable (or a rule).

    ``dependents`` are variables whose presence a conditional rule ties to
    this one; the record must have them empty, so spoiling this variable
    breaks no rule but the intended one.
    """

    kind: BadKind
    variable: str
    rule: str | None = None
    rule_kind: str | None = None
    other: str | None = None
    when_in: tuple[str, ...] = ()
    dependents: tuple[str, ...] = ()
    target_is_later: bool = False


@dataclass(frozen=True)
class BadRow:
    """A spoilt record of a chunk (``index`` into the chunk's records)."""

    index: int
    kind: BadKind
    variable: str
    rule: str | None
    formats: tuple[str, ...]


@dataclass
class ChunkBadRows:
    """The bad rows of one dataset chunk and the CSV cells that replace typed values."""

    rows: list[BadRow] = field(default_factory=list)
    csv_overrides: dict[str, dict[int, str]] = field(default_factory=dict)


def _fhir_structural(config: RegistrationConfig, dataset: str) -> set[str]:
    """Variables FHIR needs to find the record at all (ids, references, code filters)."""
    structural: set[str] = set()
    if config.fhir_source is None or dataset not in config.fhir_source.datasets:
        return structural
    source = config.fhir_source.datasets[dataset]
    for name, spec in source.variables.items():
        element = spec.element
        if spec.resource is None and (element == "id" or element.endswith(".resolve().id")):
            structural.add(name)
        if (
            spec.resource is None
            and source.where is not None
            and element.startswith(source.where.element + ".")
            and source.where.system in element
        ):
            structural.add(name)
    return structural


def _protected(plan: RegistrationPlan, dplan: DatasetPlan) -> set[str]:
    """Variables never spoilt: keys, references, the patient's own sex, the period date."""
    dataset = dplan.dataset
    protected = set(dataset.key) | set(dplan.identity_shared)
    protected |= _fhir_structural(plan.config, dataset.name)
    if dplan.relation is not None:
        protected.add(dplan.relation.variable)
    if dataset.name == plan.period_dataset:
        protected.add(plan.period_variable)
    return protected


def _variable_candidates(
    plan: RegistrationPlan, dplan: DatasetPlan, protected: set[str]
) -> list[Candidate]:
    dataset = dplan.dataset
    dependents: dict[str, set[str]] = {}
    for rule in dataset.validations:
        if rule.kind in ("required_if", "empty_unless"):
            when = str(rule.params["when_variable"])
            dependents.setdefault(when, set()).add(str(rule.params["variable"]))
    found: list[Candidate] = []
    for name in dplan.variables:
        variable = dataset.variable(name)
        if name in protected or variable.severity != "error":
            continue
        deps = tuple(sorted(dependents.get(name, ())))
        kinds: list[BadKind] = []
        if all(variable.is_required_for(p) for p in PROVIDER_TYPES):
            kinds.append("missing_required")
        if variable.type in ("integer", "decimal") and (
            variable.min is not None or variable.max is not None
        ):
            kinds.append("out_of_range")
        if variable.option_set and variable.option_set in plan.config.dictionary.option_sets:
            kinds.append("invalid_code")
        if variable.type in ("date", "datetime"):
            kinds.append("wrong_date_format")
        found.extend(Candidate(kind, name, dependents=deps) for kind in kinds)
    return found


def _rule_candidates(dplan: DatasetPlan, protected: set[str]) -> list[Candidate]:
    dataset = dplan.dataset
    variables = set(dplan.variables)
    order_rules: dict[str, int] = {}
    for rule in dataset.validations:
        if rule.kind == "date_order":
            for side in (str(rule.params["earlier"]), str(rule.params["later"])):
                order_rules[side] = order_rules.get(side, 0) + 1
    found: list[Candidate] = []
    for rule in dataset.validations:
        if rule.severity != "error":
            continue
        if rule.kind == "date_order":
            earlier, later = str(rule.params["earlier"]), str(rule.params["later"])
            target, other = (earlier, later) if later in protected else (later, earlier)
            # a protected target, or one that also sits in another order rule, stays put
            if target not in protected and order_rules[target] == 1 and other in variables:
                found.append(
                    Candidate(
                        "cross_field",
                        target,
                        rule.id,
                        "date_order",
                        other,
                        target_is_later=target == later,
                    )
                )
        elif rule.kind == "required_if":
            target = str(rule.params["variable"])
            when = str(rule.params["when_variable"])
            when_in = rule.params.get("when_in", [])
            values = tuple(str(v) for v in when_in) if isinstance(when_in, list) else ()
            if target not in protected and {target, when} <= variables:
                found.append(Candidate("cross_field", target, rule.id, "required_if", when, values))
    return found


def candidates(plan: RegistrationPlan, dplan: DatasetPlan) -> dict[BadKind, list[Candidate]]:
    """Every way records of this dataset can be spoiled, by kind (only kinds that apply)."""
    protected = _protected(plan, dplan)
    found = _variable_candidates(plan, dplan, protected) + _rule_candidates(dplan, protected)
    by_kind = {kind: [c for c in found if c.kind == kind] for kind in KINDS}
    return {kind: listed for kind, listed in by_kind.items() if listed}


def planned_count(share: float, patients: int, per_patient: float, n_kinds: int) -> int:
    """Bad records of a dataset over the whole run."""
    if share <= 0 or n_kinds == 0:
        return 0
    count = math.ceil(share * patients * per_patient)
    if patients >= ALL_KINDS_FROM:
        count = max(count, n_kinds)
    return count


def chunk_quota(total: int, n_chunks: int, chunk_index: int) -> tuple[int, int]:
    """(first ordinal, count) of the run's bad records that fall in this chunk."""
    first = total * chunk_index // n_chunks
    last = total * (chunk_index + 1) // n_chunks
    return first, last - first


def _applicable(candidate: Candidate, chunk: DatasetChunk) -> BoolArray:
    col = chunk.columns[candidate.variable]
    present: BoolArray = ~col.missing
    for dependent in candidate.dependents:
        if dependent in chunk.columns:
            present = present & chunk.columns[dependent].missing
    if candidate.kind == "cross_field" and candidate.other is not None:
        other = chunk.columns[candidate.other]
        if candidate.rule_kind == "required_if":
            return present & condition_mask(other, candidate.when_in)
        return present & ~other.missing
    return present


def _invalid_code(codes: Sequence[str], rng: np.random.Generator) -> str:
    if all(code.isdigit() for code in codes):
        top = max(int(code) for code in codes)
        options = [str(top + 1), "9", "99", "0"]
    else:
        options = ["XX", "X", "XXX"]
    options = [o for o in options if o not in codes]
    return options[int(rng.integers(len(options)))]


def _out_of_range(
    value: float,
    low: float | None,
    high: float | None,
    whole: bool,
    rng: np.random.Generator,
) -> float:
    """A value outside [low, high]: a unit slip below, or a 9/99/999 sentinel above."""

    def outside(x: float) -> bool:
        return (low is not None and x < low) or (high is not None and x > high)

    if low is not None and low > 0 and (high is None or rng.random() < 0.35):
        # a unit slip (cm for mm, mg/dL for umol/L) lands below the minimum
        guess = round(value / 10.0, 0 if whole else 1)
        if outside(guess):
            return guess
        if outside(low - 1.0):
            return low - 1.0
    if high is None:
        return -1.0
    for sentinel in (9.0, 99.0, 999.0, 9999.0):
        if sentinel > high:
            return sentinel if rng.random() < 0.6 else high + 1 + int(rng.integers(0, 20))
    return high * 2


def _wrong_date_text(values: npt.NDArray[np.generic], kind: str, rng: np.random.Generator) -> str:
    """A plausible but unparseable form of the one date (or datetime) in ``values``."""
    text = str(np.datetime_as_string(values.astype("datetime64[D]"))[0])  # yyyy-mm-dd
    y, m, d = text[:4], text[5:7], text[8:10]
    style = int(rng.integers(3))
    if style == 0:
        wrong = f"{d}.{m}.{y}"
    elif style == 1:
        wrong = f"{y}/{13 + int(rng.integers(7))}/{32 + int(rng.integers(14))}"
    else:
        wrong = f"31.02.{y}"
    if kind == "datetime":
        minutes = str(np.datetime_as_string(values.astype("datetime64[m]"))[0])[11:16]
        wrong = f"{wrong} {minutes}"
    return wrong


def apply_bad_rows(
    rng: np.random.Generator,
    plan: RegistrationPlan,
    chunk: DatasetChunk,
    found: Mapping[BadKind, Sequence[Candidate]],
    quota: tuple[int, int],
) -> ChunkBadRows:
    """Spoil ``quota[1]`` records of ``chunk``; kinds follow the run-wide ordinal ``quota[0]``."""
    first_ordinal, count = quota
    result = ChunkBadRows()
    kinds = list(found)
    if not kinds or count == 0 or len(chunk) == 0:
        return result
    used = np.zeros(len(chunk), dtype=np.bool_)
    # applicability is computed once: spoiling a record only removes it (used).
    # Records dated in 2026 are preferred, so every kind shows in a 2026 period.
    in_year = (chunk.anchor >= YEAR_START) & (chunk.anchor < np.datetime64("2027-01-01"))
    applicable = {}
    for kind in kinds:
        masks = [_applicable(c, chunk) for c in found[kind]]
        if np.logical_or.reduce([m & in_year for m in masks]).any():
            masks = [m & in_year for m in masks]
        applicable[kind] = masks
    for ordinal in range(first_ordinal, first_ordinal + count):
        kind = kinds[ordinal % len(kinds)]
        masks = applicable[kind]
        eligible = np.flatnonzero(np.logical_or.reduce(masks) & ~used)
        if len(eligible) == 0:
            continue
        index = int(eligible[rng.integers(len(eligible))])
        usable = [c for c, m in zip(found[kind], masks, strict=True) if m[index]]
        candidate = usable[int(rng.integers(len(usable)))]
        used[index] = True
        formats = _spoil(rng, plan, chunk, candidate, index=index, result=result)
        result.rows.append(BadRow(index, kind, candidate.variable, candidate.rule, formats))
    return result


def _spoil(
    rng: np.random.Generator,
    plan: RegistrationPlan,
    chunk: DatasetChunk,
    candidate: Candidate,
    *,
    index: int,
    result: ChunkBadRows,
) -> tuple[str, ...]:
    """Make record ``index`` wrong as ``candidate`` says; returns the formats it shows in."""
    variable = plan.dataset(chunk.name).dataset.variable(candidate.variable)
    col = chunk.columns[candidate.variable]
    kind = candidate.kind
    if kind == "missing_required" or candidate.rule_kind == "required_if":
        col.missing[index] = True
    elif kind == "out_of_range":
        whole = col.kind == "int" or col.decimals == 0
        col.values[index] = _out_of_range(
            float(col.values[index]), variable.min, variable.max, whole, rng
        )
    elif kind == "invalid_code":
        assert variable.option_set is not None
        codes = plan.config.dictionary.option_sets[variable.option_set].codes
        col.values[index] = _invalid_code(codes, rng)
    elif kind == "wrong_date_format":
        text = _wrong_date_text(col.values[index : index + 1], col.kind, rng)
        result.csv_overrides.setdefault(candidate.variable, {})[index] = text
        return ("csv",)
    else:  # date order: move the target just past the other side
        assert candidate.other is not None
        base = chunk.columns[candidate.other].values[index].astype("datetime64[D]")
        shift = days(1 + rng.integers(0, 5))
        moved = base - shift if candidate.target_is_later else base + shift
        col.values[index] = moved.astype(col.values.dtype)
    return ("csv", "fhir")
