"""Which records a registration gets, read off its catalogue entry.

The plan says, per dataset of the dictionary that the registration's source
mapping uses: which variables to produce (those the CSV or FHIR mapping
reads), how records relate (a complication belongs to an operation), which
variables are the patient's own sex or birth date, and where the period date
lives. Generation then fills one chunk of patients at a time.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aanlevering.catalogue import Dataset, RegistrationConfig
from aanlevering.catalogue.model import Relation
from aanlevering.demo import ids
from aanlevering.demo.clinical import ClinicalModel, model_for
from aanlevering.demo.clinical.base import (
    DatasetChunk,
    FillContext,
    care_dates,
    column,
    generic_fill,
)
from aanlevering.demo.people import SEX_CODES, People
from aanlevering.errors import ConfigError

#: FHIR paths on the focus resource that carry the patient's own sex/birth date.
_FHIR_IDENTITY_PATHS = {
    "subject.resolve().gender": "sex",
    "subject.resolve().birthDate": "birth_date",
}


@dataclass(frozen=True)
class DatasetPlan:
    """How one dataset of a registration is generated."""

    dataset: Dataset
    variables: tuple[str, ...]
    relation: Relation | None
    identity_shared: Mapping[str, str]
    key_prefix: str
    expected_per_patient: float


@dataclass(frozen=True)
class RegistrationPlan:
    """Everything generation needs to know about one registration."""

    config: RegistrationConfig
    model: ClinicalModel
    datasets: tuple[DatasetPlan, ...]
    period_dataset: str
    period_variable: str

    @property
    def id(self) -> str:
        """The registration id."""
        return self.config.id

    def dataset(self, name: str) -> DatasetPlan:
        """The plan of one dataset."""
        for plan in self.datasets:
            if plan.dataset.name == name:
                return plan
        raise KeyError(name)


def _mapped_variables(config: RegistrationConfig, name: str) -> set[str]:
    mapped: set[str] = set()
    if config.csv_source and name in config.csv_source.datasets:
        mapped.update(config.csv_source.datasets[name].columns.values())
    if config.fhir_source and name in config.fhir_source.datasets:
        mapped.update(config.fhir_source.datasets[name].variables)
    return mapped


def _identity_shared(config: RegistrationConfig, name: str) -> dict[str, str]:
    shared: dict[str, str] = {}
    if config.csv_source and name in config.csv_source.datasets:
        source = config.csv_source.datasets[name]
        for column_name, variable in source.columns.items():
            if column_name in source.identity:
                shared[variable] = source.identity[column_name]
    if config.fhir_source and name in config.fhir_source.datasets:
        for variable, spec in config.fhir_source.datasets[name].variables.items():
            if spec.resource is None and spec.element in _FHIR_IDENTITY_PATHS:
                shared.setdefault(variable, _FHIR_IDENTITY_PATHS[spec.element])
    return shared


def plan_registration(config: RegistrationConfig) -> RegistrationPlan:
    """Read the generation plan off a registration's config and dictionary.

    Parents come before the datasets that reference them. ConfigError when a
    dataset cannot be generated (e.g. a relation cycle).
    """
    model = model_for(config.dictionary.id)
    wanted = {d.name: d for d in config.dictionary.datasets if _mapped_variables(config, d.name)}
    ordered: list[DatasetPlan] = []
    done: set[str] = set()
    while len(done) < len(wanted):
        progressed = False
        for name, dataset in wanted.items():
            if name in done:
                continue
            relation = next((r for r in dataset.relations if r.dataset in wanted), None)
            if relation is not None and relation.dataset not in done:
                continue
            mapped = _mapped_variables(config, name)
            variables = tuple(v for v in dataset.variable_names if v in mapped or v in dataset.key)
            ordered.append(
                DatasetPlan(
                    dataset=dataset,
                    variables=variables,
                    relation=relation,
                    identity_shared=_identity_shared(config, name),
                    key_prefix=model.key_prefix(name),
                    expected_per_patient=model.expected_per_patient.get(
                        name, 1.0 if relation is None else 0.4
                    ),
                )
            )
            done.add(name)
            progressed = True
        if not progressed:
            raise ConfigError(
                f"registration {config.id}: datasets {sorted(set(wanted) - done)} "
                "reference each other in a cycle; cannot generate demo data"
            )
    period_dataset = config.period_dataset
    if period_dataset not in wanted:
        raise ConfigError(
            f"registration {config.id}: the period dataset {period_dataset!r} is not mapped "
            "in its source config"
        )
    return RegistrationPlan(
        config=config,
        model=model,
        datasets=tuple(ordered),
        period_dataset=period_dataset,
        period_variable=config.period_variable.split(".")[-1],
    )


def generate_records(
    plan: RegistrationPlan,
    rng: np.random.Generator,
    people: People,
    age_years: npt.NDArray[np.float64],
    *,
    record_offsets: dict[str, int],
    key_offset: int,
) -> dict[str, DatasetChunk]:
    """Records of every dataset for the chunk's patients.

    ``record_offsets`` counts records written so far per dataset (updated
    here) so record keys stay unique across chunks.
    """
    chunks: dict[str, DatasetChunk] = {}
    n_patients = len(people)
    sex_codes = np.asarray(SEX_CODES, dtype=object)
    for dplan in plan.datasets:
        dataset = dplan.dataset
        parent = chunks[dplan.relation.dataset] if dplan.relation else None
        counts = plan.model.record_counts(rng, dataset, parent, n_patients)
        if parent is None:
            patient = np.repeat(np.arange(n_patients, dtype=np.int64), counts)
            parent_index = None
            anchor = care_dates(rng, len(patient))
        else:
            parent_index = np.repeat(np.arange(len(parent), dtype=np.int64), counts)
            patient = parent.patient[parent_index]
            anchor = parent.anchor[parent_index]
        chunk = DatasetChunk(name=dataset.name, patient=patient, anchor=anchor, parent=parent_index)
        n = len(chunk)
        start = record_offsets.get(dataset.name, 0)
        record_offsets[dataset.name] = start + n
        for key in dataset.key:
            keys = ids.record_keys(
                dplan.key_prefix,
                np.arange(start, start + n, dtype=np.int64),
                key_offset + zlib.crc32(f"{dataset.name}.{key}".encode()),
            )
            chunk.columns[key] = column("str", keys)
        if dplan.relation is not None and parent is not None and parent_index is not None:
            target = parent.columns[dplan.relation.target_variable]
            chunk.columns[dplan.relation.variable] = column("str", target.values[parent_index])
        for variable, field in dplan.identity_shared.items():
            if field == "sex":
                chunk.columns[variable] = column("str", sex_codes[people.sex[patient]])
            elif field == "birth_date":
                chunk.columns[variable] = column("date", people.birth_date[patient])
        context = FillContext(
            dictionary=plan.config.dictionary,
            sex=people.sex,
            age_years=age_years,
            period_variable=plan.period_variable if dataset.name == plan.period_dataset else None,
            parents=chunks,
        )
        plan.model.fill(rng, dataset, chunk, context)
        if dataset.name == plan.period_dataset and plan.period_variable not in chunk.columns:
            chunk.columns[plan.period_variable] = column("date", anchor)
        generic_fill(rng, plan.config.dictionary, dataset, chunk, dplan.variables)
        if dataset.name == plan.period_dataset:
            chunk.anchor = chunk.columns[plan.period_variable].values.astype("datetime64[D]")
        unknown = set(chunk.columns) - set(dataset.variable_names)
        if unknown:
            raise ConfigError(
                f"demo model for {plan.config.dictionary.id} produced variables "
                f"{sorted(unknown)} that dataset {dataset.name} does not have"
            )
        chunks[dataset.name] = chunk
    return chunks
