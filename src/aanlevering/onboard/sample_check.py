"""How well a registration's mapping fits a sample export, before the first run.

``registrations check ID --sample PATH`` reads the sample with the real
extract (the whole sample, whatever its dates; no opt-outs, no
pseudonymisation, nothing written) and reports per variable where it comes
from, how often it is present, how often it has the right type and how often
it lies in its option set or range, and per pseudonym type how many records
have the identity fields it needs (after normalisation, as the TTP would get
them). Only counts are reported, never values: a sample is real patient data.

A mapping *fails* when a variable finds nothing in the whole sample, when most
of its values fail their type or fall outside the option set or range, or when
most records could not get one of the registration's pseudonym types.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import Dataset, RegistrationConfig, Variable
from aanlevering.extract import detect_source_kind, extract
from aanlevering.extract.model import ExtractedDataset
from aanlevering.periods import Period
from aanlevering.pseudonym.normalise.profile import NL_PROFILE_2026_1
from aanlevering.pseudonym_types import PseudonymType

#: The whole sample, whatever its dates.
ALL_DATES = Period(date(1900, 1, 1), date(2200, 1, 1), "year")
#: Below this share a variable (or pseudonym type) "fails for most rows".
MOST = 0.5


@dataclass(frozen=True)
class VariableFit:
    """Counts for one variable over the sample's records of its dataset."""

    dataset: str
    variable: str
    source: str
    records: int
    present: int
    right_type: int
    #: Values that have an option set or range to lie in (the typed, present ones), and how
    #: many of them do; ``checked`` 0 when the variable has neither.
    checked: int
    inside: int

    @property
    def problems(self) -> list[str]:
        """Why this variable fails (at most one reason), empty when it fits."""
        found = []
        if self.records and not self.present:
            found.append("maps to nothing in the sample")
        elif self.present and self.right_type < MOST * self.present:
            found.append("most values have the wrong type")
        elif self.checked and self.inside < MOST * self.checked:
            found.append("most values are outside the option set or range")
        return found


@dataclass(frozen=True)
class IdentityFit:
    """Persons of the sample that would get each pseudonym type.

    Counted per person (``patient_id``) over every dataset, the way the
    pipeline pools identity: a complication row without a name still belongs
    to a person whose operation row has one.
    """

    persons: int
    #: The registration's own pseudonym types (these fail the check when most lack them).
    per_type: dict[str, int]
    #: The other types, for choosing; informational only.
    other_types: dict[str, int]

    @property
    def problems(self) -> list[str]:
        """Pseudonym types most persons would not get."""
        return [
            f"most persons would get no {name} pseudonym"
            for name, count in self.per_type.items()
            if self.persons and count < MOST * self.persons
        ]


@dataclass(frozen=True)
class SampleFit:
    """The fit of a registration's mapping to one sample."""

    registration: str
    sample: str
    kind: str
    records: dict[str, int]
    variables: tuple[VariableFit, ...]
    identity: IdentityFit

    @property
    def fits(self) -> bool:
        """Whether nothing fails (exit code 0)."""
        return not any(v.problems for v in self.variables) and not self.identity.problems


def _source(config: RegistrationConfig, kind: str, dataset: Dataset, variable: Variable) -> str:
    if kind == "csv" and config.csv_source is not None:
        mapping = config.csv_source.datasets.get(dataset.name)
        columns = [c for c, v in (mapping.columns.items() if mapping else ()) if v == variable.name]
        if columns:
            return ", ".join(columns)
    if kind == "fhir" and config.fhir_source is not None:
        fhir = config.fhir_source.datasets.get(dataset.name)
        source = fhir.variables.get(variable.name) if fhir else None
        if source is not None:
            related = f"{source.resource}[{source.link or 'subject'}]." if source.resource else ""
            return f"{related}{source.element}" + (" (mapped)" if source.map else "")
    if variable.generalised_from:
        return f"generalised from {variable.generalised_from}"
    return "(no source)"


def _inside(config: RegistrationConfig, variable: Variable, values: pa.Array) -> tuple[int, int]:
    present = pc.drop_null(values)
    if variable.option_set and variable.option_set in config.dictionary.option_sets:
        codes = pa.array(config.dictionary.option_sets[variable.option_set].codes, pa.string())
        inside = pc.sum(pc.is_in(pc.cast(present, pa.string()), value_set=codes)).as_py() or 0
        return len(present), int(inside)
    if variable.type in {"integer", "decimal"} and (
        variable.min is not None or variable.max is not None
    ):
        mask = pa.array([True] * len(present), pa.bool_())
        if variable.min is not None:
            mask = pc.and_(mask, pc.greater_equal(present, variable.min))
        if variable.max is not None:
            mask = pc.and_(mask, pc.less_equal(present, variable.max))
        return len(present), int(pc.sum(mask).as_py() or 0)
    return 0, 0


def _variable_fits(
    config: RegistrationConfig, kind: str, dataset: Dataset, data: ExtractedDataset
) -> Iterator[VariableFit]:
    failed: dict[str, int] = {}
    for problem in data.type_problems:
        failed[problem.variable] = failed.get(problem.variable, 0) + 1
    records = data.clinical.num_rows
    for variable in dataset.variables:
        column = data.clinical.column(variable.name).combine_chunks()
        typed = len(column) - column.null_count
        checked, inside = _inside(config, variable, column)
        yield VariableFit(
            dataset=dataset.name,
            variable=variable.name,
            source=_source(config, kind, dataset, variable),
            records=records,
            present=typed + failed.get(variable.name, 0),
            right_type=typed,
            checked=checked,
            inside=inside,
        )


def _persons(datasets: list[ExtractedDataset]) -> pa.Table:
    """One identity row per person: per field the first value any dataset has for them."""
    fields = datasets[0].identity.column_names if datasets else []
    merged: dict[str, dict[str, object]] = {}
    for data in datasets:
        rows = data.identity.to_pylist()
        for index, row in enumerate(rows):
            key = row.get("patient_id") or f"{data.name}:{index}"
            person = merged.setdefault(str(key), {})
            for name in fields:
                if person.get(name) in (None, "") and row.get(name) not in (None, ""):
                    person[name] = row[name]
    columns = {name: [p.get(name) for p in merged.values()] for name in fields}
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _identity_fit(config: RegistrationConfig, datasets: list[ExtractedDataset]) -> IdentityFit:
    configured = config.pseudonymisation.types
    others = [t for t in PseudonymType if t not in configured and t in NL_PROFILE_2026_1.types]
    persons = _persons(datasets)
    canonical = NL_PROFILE_2026_1.normalise_columns(persons, [*configured, *others])

    def count(t: PseudonymType) -> int:
        return sum(1 for value in canonical.values[t] if value is not None)

    return IdentityFit(
        persons.num_rows,
        per_type={str(t): count(t) for t in configured},
        other_types={str(t): count(t) for t in others},
    )


def check_sample(config: RegistrationConfig, sample: Path) -> SampleFit:
    """Read ``sample`` with the registration's mapping and count how well each variable fits.

    Raises what the extract raises (ExtractError, ConfigError) when the sample
    cannot be read at all.
    """
    kind = detect_source_kind(config, sample)
    result = extract(config, sample, ALL_DATES)
    variables: list[VariableFit] = []
    datasets = [result.datasets[d.name] for d in config.dictionary.datasets]
    for dataset, data in zip(config.dictionary.datasets, datasets, strict=True):
        variables.extend(_variable_fits(config, kind, dataset, data))
    return SampleFit(
        registration=config.id,
        sample=str(sample),
        kind=kind,
        records={data.name: data.clinical.num_rows for data in datasets},
        variables=tuple(variables),
        identity=_identity_fit(config, datasets),
    )


def _share(count: int, total: int) -> str:
    if not total:
        return "-"
    percent = 100 if count == total else min(99, 100 * count // total)
    return f"{count}/{total} ({percent}%)"


_URL = re.compile(r"'https?://[^']*/([^'/]+)'")


def _short(source: str, width: int) -> str:
    """A source as printed: URLs in extension() and where() cut to their last segment."""
    text = _URL.sub(lambda m: f"'…/{m.group(1)}'", source)
    return text if len(text) <= width else text[: width - 1] + "…"


def render(fit: SampleFit) -> str:
    """The report as printed: one line per variable, then the pseudonym types, then a verdict."""
    lines = [f"{fit.registration}: sample {fit.sample} ({fit.kind})"]
    width = min(max((len(_short(v.source, 60)) for v in fit.variables), default=6), 60)
    name_width = max((len(v.variable) for v in fit.variables), default=8)
    for dataset, records in fit.records.items():
        lines.append("")
        lines.append(f"dataset {dataset}: {records} record(s)")
        lines.append(
            f"  {'variable':<{name_width}}  {'source':<{width}}  {'present':>15}  "
            f"{'right type':>15}  {'in set/range':>15}  verdict"
        )
        for v in (v for v in fit.variables if v.dataset == dataset):
            verdict = "; ".join(f"FAIL: {p}" for p in v.problems) or "ok"
            lines.append(
                f"  {v.variable:<{name_width}}  {_short(v.source, width):<{width}}  "
                f"{_share(v.present, v.records):>15}  {_share(v.right_type, v.present):>15}  "
                f"{_share(v.inside, v.checked):>15}  {verdict}"
            )
    identity = fit.identity
    lines.append("")
    lines.append(f"persons: {identity.persons}; would get a pseudonym of type:")
    for name, count in identity.per_type.items():
        lines.append(f"  {name:<6} {_share(count, identity.persons):>15}")
    others = ", ".join(
        f"{name} {_share(count, identity.persons)}" for name, count in identity.other_types.items()
    )
    if others:
        lines.append(f"  (not configured: {others})")
    lines.extend(f"  FAIL: {problem}" for problem in identity.problems)
    failing = sum(1 for v in fit.variables if v.problems) + len(identity.problems)
    lines.append("")
    lines.append(
        "fits: every variable is found, typed and in its option set or range for most records"
        if fit.fits
        else f"does not fit: {failing} failing check(s), marked FAIL above"
    )
    return "\n".join(lines)
