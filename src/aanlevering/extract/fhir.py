"""FHIR (bulk export NDJSON or Bundles) to the same Arrow tables as a CSV extract.

The registration's ``source.fhir.datasets.<dataset>`` names a focus resource
type and an optional code filter; every focus resource that matches (and is
not ``entered-in-error``) becomes one record. Each variable is read with the
FHIRPath subset of :mod:`aanlevering.extract.fhirpath`, either from the focus
resource or from a related resource: one of type ``resource`` whose ``link``
element (``subject``, ``encounter``, ``focus``, ``partOf``, ``reasonReference``)
references the focus resource (for ``encounter``: the focus's own encounter,
or the focus itself when it is an Encounter), filtered by ``where``. When
several related resources match, the first one read that has a value wins.
``map`` translates codes; an unmapped code passes through for validation
to report.

Identity comes from the focus's Patient (``subject``/``patient``, or the
focus itself), see :mod:`aanlevering.extract.fhir_identity`; the MRN is the
identifier of ``source.fhir.mrn_system`` (or ``ExtractOptions.mrn_system``,
which wins), else the one typed ``MR``. A focus resource
whose patient is not in the input makes the extract unusable (ExtractError),
as does a period date that is missing or unparseable. Row references are the
resources' locations (``Procedure.ndjson:12``, ``bundle.json:entry[3]``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import (
    IDENTITY_FIELDS,
    CodeFilter,
    Dataset,
    FhirDatasetSource,
    FhirSource,
    FhirVariableSource,
    RegistrationConfig,
    Variable,
)
from aanlevering.errors import ConfigError, ExtractError
from aanlevering.extract.assemble import assemble_extract
from aanlevering.extract.fhir_columns import Chain, Unsupported, split
from aanlevering.extract.fhir_copies import refuse_differing_copies
from aanlevering.extract.fhir_identity import patient_identity
from aanlevering.extract.fhir_parallel import read_input
from aanlevering.extract.fhir_patient_links import RecordResolver, of_other_patient
from aanlevering.extract.fhir_projection import projector, read_names
from aanlevering.extract.fhir_resources import KeptResources, ReadElements, required
from aanlevering.extract.fhir_store import (
    SHAPE_ERRORS,
    Located,
    ResourceStore,
    load_store,
    malformed,
)
from aanlevering.extract.fhir_stream import (
    Assembler,
    DatasetSpec,
    StreamedRecords,
    VariableSpec,
)
from aanlevering.extract.fhir_texts import KeptSources
from aanlevering.extract.fhir_values import EXPECTED, convert
from aanlevering.extract.fhirpath import FhirPath, PathSyntaxError, compile_path, evaluate
from aanlevering.extract.generalise import SOURCE_FIELD, expected_source, generalise
from aanlevering.extract.model import ARROW_TYPES, Extract
from aanlevering.extract.options import ExtractOptions
from aanlevering.extract.rows import (
    OTHER_PATIENT_SCHEMA,
    ArrayLike,
    ProblemGroup,
    Rows,
    identity_table,
)
from aanlevering.extract.select import (
    MAX_LISTED,
    PeriodDateFailures,
    PeriodSelection,
    referenced_variables,
    select_period,
)
from aanlevering.periods import Period

log = logging.getLogger(__name__)

#: How FHIR writes (possibly partial) birth dates, for the birth-year generalisation.
FHIR_BIRTH_DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%Y-%m", "%Y")
_PATIENT_LINKS = ("subject", "patient")


@dataclass
class _Collected:
    """Plain values gathered from the resources, before they become Arrow columns."""

    values: dict[str, list[object | None]]
    identities: dict[str, list[str | None]]
    refs: list[str] = field(default_factory=list)
    raw_text: dict[str, list[str | None]] = field(default_factory=dict)
    failed: dict[str, list[str]] = field(default_factory=dict)
    #: (record, location of a linked resource of another patient), decision 0570.
    others: list[tuple[str, str]] = field(default_factory=list)
    #: Further copies of the records' resources, and records entered in error (0692).
    duplicates: int = 0
    entered_in_error: int = 0


@dataclass(frozen=True)
class _Variable:
    name: str
    type: str
    source: FhirVariableSource
    path: FhirPath
    where: tuple[CodeFilter, FhirPath] | None
    #: The path follows a reference from the focus to a resource it reads more than the id of
    #: (decision 0571); ``target``: what it reads there, when one ``resolve()`` splits it.
    follows: bool = False
    target: FhirPath | None = None


def _follows(path: FhirPath, focus: str) -> tuple[bool, FhirPath | None]:
    """Whether a focus path reads a resource it follows a reference to, and what it reads there.

    A chain that reads only the target's id (a record key, delivered as a keyed hash) is
    not checked (decision 0571).
    """
    leading = path.root_type is not None and path.root_type != focus
    if not leading and not any(step.kind == "resolve" for step in path.steps):
        return False, None
    try:
        compiled = split(path, focus)
    except Unsupported:
        return True, None  # the store reader's alone: every refused target is counted
    if not isinstance(compiled, Chain) or compiled.reads_id:
        return False, None
    return True, compiled.target


def fhir_source_of(config: RegistrationConfig) -> FhirSource:
    """The registration's FHIR mapping; ExtractError when it has none."""
    if config.fhir_source is None:
        raise ExtractError(
            f"registration {config.id} has no source.fhir mapping "
            f"({config.source_file or 'its config'}); it cannot read FHIR input"
        )
    return config.fhir_source


def _compile(text: str, config: RegistrationConfig, where: str) -> FhirPath:
    try:
        return compile_path(text)
    except PathSyntaxError as error:
        raise ConfigError(f"registration {config.id}: {where}: {error}") from None


def _filter(
    code_filter: CodeFilter | None, config: RegistrationConfig, where: str
) -> tuple[CodeFilter, FhirPath] | None:
    if code_filter is None:
        return None
    return code_filter, _compile(code_filter.element, config, f"{where}.where.element")


def matches(
    code_filter: tuple[CodeFilter, FhirPath] | None,
    resource: Mapping[str, Any],
    store: ResourceStore,
) -> bool:
    """Whether a coded element of ``resource`` has the filter's system (and one of its codes)."""
    if code_filter is None:
        return True
    spec, path = code_filter
    for item in evaluate(path, resource, store.resolve):
        if not isinstance(item, Mapping):
            continue
        codings = item.get("coding") if "coding" in item else [item]
        for coding in codings or ():
            if (
                isinstance(coding, Mapping)
                and coding.get("system") == spec.system
                and (not spec.codes or coding.get("code") in spec.codes)
            ):
                return True
    return False


def entered_in_error(resource: Mapping[str, Any]) -> bool:
    """Resources recorded by mistake are never delivered."""
    if resource.get("status") == "entered-in-error":
        return True
    verification = resource.get("verificationStatus") or {}
    codings = verification.get("coding") if isinstance(verification, Mapping) else None
    return any(
        isinstance(c, Mapping) and c.get("code") == "entered-in-error" for c in codings or ()
    )


def _usable_related(related: Located, variable: _Variable, store: ResourceStore) -> bool:
    try:
        return not entered_in_error(related.resource) and matches(
            variable.where, related.resource, store
        )
    except SHAPE_ERRORS as error:
        raise malformed(related.location, related.resource, error) from None


class _DatasetBuilder:
    """One dataset's records from the focus resources in a store."""

    def __init__(
        self,
        config: RegistrationConfig,
        dataset: Dataset,
        mapping: FhirDatasetSource,
        options: ExtractOptions,
    ) -> None:
        self.config = config
        self.dataset = dataset
        self.mapping = mapping
        self.options = options
        prefix = f"source.fhir.datasets.{dataset.name}"
        self.where = _filter(mapping.where, config, prefix)
        #: (further copies, entered in error) of the last records built (decision 0692).
        self.set_aside: tuple[int, int] = (0, 0)
        self.variables: list[_Variable] = []
        for name, source in mapping.variables.items():
            variable = dataset.variable(name)
            where = f"{prefix}.variables.{name}"
            path = _compile(source.element, config, where)
            follows, target = (
                _follows(path, mapping.resource) if source.resource is None else (False, None)
            )
            self.variables.append(
                _Variable(
                    name=name,
                    type=variable.type,
                    source=source,
                    path=path,
                    where=_filter(source.where, config, where),
                    follows=follows,
                    target=target,
                )
            )

    def paths(self) -> list[FhirPath]:
        """Every compiled path this dataset evaluates (values and code filters)."""
        found = [self.where[1]] if self.where is not None else []
        for variable in self.variables:
            found.append(variable.path)
            if variable.where is not None:
                found.append(variable.where[1])
        return found

    def read_elements(self, read: ReadElements) -> None:
        """Add what this dataset's mappings read, per resource type, to ``read``."""
        focus = self.mapping.resource
        if self.where is not None:
            read.add_path(focus, self.where[1], filter_element=True)
        for variable in self.variables:
            resource_type = variable.source.resource or focus
            read.add_path(resource_type, variable.path)
            if variable.where is not None:
                read.add_path(resource_type, variable.where[1], filter_element=True)
            if variable.source.resource:
                read.add_name(resource_type, variable.source.link or "subject")

    def links(self) -> list[str]:
        """Elements through which related resources reference the focus."""
        return [v.source.link or "subject" for v in self.variables if v.source.resource]

    def focus(self, store: ResourceStore, counted: _Collected | None = None) -> list[Located]:
        """Focus resources that match the dataset's filter and were not recorded in error.

        ``counted`` gets how many were entered in error and how many further copies of
        the matching resources the input held (decision 0692).
        """
        selected = []
        excluded = copies = 0
        for located in store.of_type(self.mapping.resource):
            try:
                if not matches(self.where, located.resource, store):
                    continue
                copies += store.copies.get(located.key, 0)
                if entered_in_error(located.resource):
                    excluded += 1
                    continue
            except SHAPE_ERRORS as error:
                raise malformed(located.location, located.resource, error) from None
            selected.append(located)
        if counted is not None:
            counted.duplicates, counted.entered_in_error = copies, excluded
        if excluded:
            log.info(
                "%s.%s: %d %s resource(s) entered-in-error left out",
                self.config.id,
                self.dataset.name,
                excluded,
                self.mapping.resource,
            )
        return selected

    def _patient(self, located: Located, store: ResourceStore) -> Located | None:
        resource = located.resource
        if resource.get("resourceType") == "Patient":
            return located
        for link in _PATIENT_LINKS:
            reference = resource.get(link)
            if isinstance(reference, Mapping) and isinstance(reference.get("reference"), str):
                key = store.key_of(reference["reference"])
                found = store.by_key.get(key) if key is not None else None
                if found is not None and found.resource.get("resourceType") == "Patient":
                    return found
        return None

    def _related_target(self, located: Located, link: str, store: ResourceStore) -> str | None:
        resource = located.resource
        if link != "encounter" or resource.get("resourceType") == "Encounter":
            return located.key
        reference = resource.get("encounter") or resource.get("context")
        if isinstance(reference, Mapping) and isinstance(reference.get("reference"), str):
            return store.key_of(reference["reference"])
        return None

    def _value(
        self,
        variable: _Variable,
        located: Located,
        store: ResourceStore,
        patient_key: str,
        others: list[str],
    ) -> tuple[Any, Located | None]:
        """The variable's value for the record of ``located``, and the resource it came from.

        A related resource naming another patient than the record's (``patient_key``)
        is not read; its location goes to ``others`` when it would have given a value
        (decision 0570).
        """
        source = variable.source
        if source.resource is None and variable.follows:
            return self._followed(variable, located, store, patient_key, others)
        if source.resource is None:
            candidates = [located]
        else:
            target = self._related_target(located, source.link or "subject", store)
            if target is None:
                return None, None
            candidates = [
                related
                for related in store.referencing(source.resource, source.link or "subject", target)
                if _usable_related(related, variable, store)
            ]
        found: tuple[Any, Located | None] = (None, None)
        for candidate in candidates:
            foreign = candidate is not located and of_other_patient(
                candidate.resource, patient_key, store
            )
            if found[1] is not None and not foreign:
                continue  # a value was found: only resources of another patient are counted
            try:
                items = evaluate(variable.path, candidate.resource, store.resolve)
            except SHAPE_ERRORS as error:
                raise malformed(candidate.location, candidate.resource, error) from None
            if not items:
                continue
            if foreign:
                others.append(candidate.location)
                continue
            value = items[0]
            if source.map and isinstance(value, str | int | bool):
                key = str(value).lower() if isinstance(value, bool) else str(value)
                value = source.map.get(key, value)
            found = (value, candidate)
        return found

    def _followed(
        self,
        variable: _Variable,
        located: Located,
        store: ResourceStore,
        patient_key: str,
        others: list[str],
    ) -> tuple[Any, Located | None]:
        """A focus path through ``resolve()``: never into a resource of another patient (0571).

        A refused target goes to ``others`` when the rest of the path selects
        something on it (what the streaming reader reads of targets).
        """
        resolver = RecordResolver(store, patient_key)
        try:
            items = evaluate(variable.path, located.resource, resolver)
        except SHAPE_ERRORS as error:
            raise malformed(located.location, located.resource, error) from None
        for refused in {r.key: r for r in resolver.refused}.values():
            try:
                selects = variable.target is None or bool(
                    evaluate(variable.target, refused.resource, resolver)
                )
            except SHAPE_ERRORS:
                selects = True  # the streaming reader keeps the error as what it read
            if selects:
                others.append(refused.location)
        if not items:
            return None, None
        value = items[0]
        value_map = variable.source.map
        if value_map and isinstance(value, str | int | bool):
            key = str(value).lower() if isinstance(value, bool) else str(value)
            value = value_map.get(key, value)
        return value, located

    def _collect(self, store: ResourceStore, kept: KeptResources | None) -> _Collected:
        collected = _Collected(
            values={v.name: [] for v in self.variables},
            identities={name: [] for name in IDENTITY_FIELDS},
        )
        orphans: list[str] = []
        for located in self.focus(store, collected):
            try:
                patient = self._patient(located, store)
            except SHAPE_ERRORS as error:
                raise malformed(located.location, located.resource, error) from None
            if patient is None:
                orphans.append(located.location)
                continue
            try:
                identity = patient_identity(patient.resource, self.options.mrn_system)
            except SHAPE_ERRORS as error:
                raise malformed(patient.location, patient.resource, error) from None
            collected.refs.append(located.location)
            for field_name, column in collected.identities.items():
                column.append(identity.get(field_name))
            if kept is not None:
                kept.add_focus(located.location, located.key, located.resource)
            for variable in self.variables:
                others: list[str] = []
                raw, used = self._value(variable, located, store, patient.key, others)
                collected.others.extend((located.location, where) for where in others)
                if kept is not None and used is not None and used is not located:
                    kept.add(located.location, used.key, used.resource)
                converted, ok = convert(raw, variable.type)
                if not ok:
                    collected.failed.setdefault(variable.name, []).append(located.location)
                collected.values[variable.name].append(converted)
                collected.raw_text.setdefault(variable.name, []).append(
                    None if raw is None else str(raw)
                )
        if orphans:
            listed = ", ".join(orphans[:MAX_LISTED])
            more = f" and {len(orphans) - MAX_LISTED} more" if len(orphans) > MAX_LISTED else ""
            raise ExtractError(
                f"{len(orphans)} {self.mapping.resource} resource(s) of dataset "
                f"{self.dataset.name!r} refer to a patient that is not in the input: "
                f"{listed}{more} (a bulk export must include Patient resources)"
            )
        return collected

    def rows(
        self,
        store: ResourceStore,
        failures: PeriodDateFailures | None,
        kept: KeptResources | None = None,
    ) -> Rows:
        """Every matching focus resource as one record.

        ``failures`` (period dataset only) collects records without a usable period date;
        ``kept`` collects the resources each record was read from.
        """
        collected = self._collect(store, kept)
        types = {v.name: ARROW_TYPES[self.dataset.variable(v.name).type] for v in self.variables}
        records = StreamedRecords(
            refs=pa.array(collected.refs, pa.string()),
            identities={n: pa.array(c, pa.string()) for n, c in collected.identities.items()},
            values={n: pa.array(c, types[n]) for n, c in collected.values.items()},
            raw_text={n: pa.array(c, pa.string()) for n, c in collected.raw_text.items()},
            failed={n: pa.array(where, pa.string()) for n, where in collected.failed.items()},
            other_patient=pa.Table.from_pylist(
                [{"record": r, "location": at} for r, at in collected.others],
                schema=OTHER_PATIENT_SCHEMA,
            ),
            duplicates=collected.duplicates,
            entered_in_error=collected.entered_in_error,
        )
        return self.rows_from(records, failures)

    def spec(self, raw_text: bool) -> DatasetSpec:
        """What the streaming reader reads for this dataset (``raw_text``: the period dataset)."""
        return DatasetSpec(
            name=self.dataset.name,
            focus=self.mapping.resource,
            where=self.where,
            variables=tuple(
                VariableSpec(
                    name=v.name,
                    type=v.type,
                    path=v.path,
                    resource=v.source.resource,
                    link=v.source.link or "subject",
                    where=v.where,
                    value_map=v.source.map,
                    raw_text=raw_text and v.name == self.config.period_variable,
                )
                for v in self.variables
            ),
        )

    def rows_from(self, records: StreamedRecords, failures: PeriodDateFailures | None) -> Rows:
        """The records' Arrow tables from their columns (both readers end here).

        Remembers what the reader left out (``set_aside``: further copies, entered in
        error) for the extract's accounting (decision 0692).
        """
        self.set_aside = (records.duplicates, records.entered_in_error)
        row_refs = records.refs
        count = len(row_refs)
        identity = identity_table(records.identities, count)
        problems = [
            ProblemGroup(name, EXPECTED[self.dataset.variable(name).type], where)
            for name, where in records.failed.items()
        ]
        columns: list[pa.Array] = []
        for variable in self.dataset.variables:
            target = ARROW_TYPES[variable.type]
            if variable.name in records.values:
                column: ArrayLike = records.values[variable.name]
                if failures is not None and variable.name == self.config.period_variable:
                    raw = records.raw_text.get(variable.name, pa.nulls(count, pa.string()))
                    failures.check(raw, column, row_refs)
            elif variable.generalised_from:
                column = self._generalised(variable, identity, row_refs, problems)
                column = column if column.type == target else pc.cast(column, target)
            else:
                column = pa.nulls(count, target)
            columns.append(
                column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
            )
        clinical = pa.Table.from_arrays(columns, names=list(self.dataset.variable_names))
        return Rows(clinical, identity, row_refs, tuple(problems), records.other_patient)

    @staticmethod
    def _generalised(
        variable: Variable, identity: pa.Table, row_refs: pa.Array, problems: list[ProblemGroup]
    ) -> ArrayLike:
        kind = str(variable.generalised_from)
        source = identity.column(SOURCE_FIELD[kind])
        column = generalise(kind, source, FHIR_BIRTH_DATE_FORMATS)
        bad = pc.and_(pc.is_valid(source), pc.is_null(column))
        if pc.any(bad).as_py():
            expected = expected_source(kind, FHIR_BIRTH_DATE_FORMATS)
            problems.append(ProblemGroup(variable.name, expected, pc.filter(row_refs, bad)))
        return column


def extract_fhir(
    config: RegistrationConfig,
    input_path: Path,
    period: Period,
    options: ExtractOptions | None = None,
) -> Extract:
    """Read every dataset of ``config`` from FHIR NDJSON or Bundles in ``input_path``.

    Streams the input into columns (:mod:`aanlevering.extract.fhir_stream`);
    a mapping or input that reader does not project is read with the store
    reader instead (decision 0235). Raises :class:`ExtractError` on unusable
    input (malformed JSON line, missing patient, missing or unparseable period
    date) and :class:`ConfigError` on a mapping path outside the supported
    FHIRPath subset.
    """
    plan = _Plan.of(config, options)
    try:
        return plan.streamed(Path(input_path), period)
    except Unsupported as why:
        log.info("%s: reading the FHIR input with the store reader (%s)", config.id, why)
    return plan.stored(Path(input_path), period)


@dataclass
class _Plan:
    """The compiled mappings of one registration, for either reader."""

    config: RegistrationConfig
    options: ExtractOptions
    builders: dict[str, _DatasetBuilder]
    read: ReadElements
    carries: bool

    @classmethod
    def of(cls, config: RegistrationConfig, options: ExtractOptions | None) -> _Plan:
        """Compile ``config``'s FHIR mappings (ConfigError/ExtractError on a bad mapping)."""
        options = options or ExtractOptions()
        source = fhir_source_of(config)
        if options.mrn_system is None and source.mrn_system is not None:
            options = replace(options, mrn_system=source.mrn_system)
        builders = {}
        for dataset in config.dictionary.datasets:
            mapping = source.datasets.get(dataset.name)
            if mapping is None:
                raise ExtractError(
                    f"registration {config.id}: source.fhir has no mapping for dataset "
                    f"{dataset.name!r}"
                )
            builders[dataset.name] = _DatasetBuilder(config, dataset, mapping, options)
        read = ReadElements()
        for builder in builders.values():
            builder.read_elements(read)
        # Resources are kept only when the delivery carries them (decision 0231).
        carries = (
            config.delivery.fhir_content != "questionnaire" and config.delivery.format != "csv"
        )
        return cls(config, options, builders, read, carries)

    def _failures(self, dataset_name: str) -> PeriodDateFailures:
        config = self.config
        builder = self.builders[dataset_name]
        element = builder.mapping.variables[config.period_variable].element
        return PeriodDateFailures(
            what=(
                f"{dataset_name}.{config.period_variable} (element "
                f"{element} of {builder.mapping.resource})"
            ),
            expected=EXPECTED[builder.dataset.variable(config.period_variable).type],
            printable=not compile_path(element).reads_patient,
        )

    def _assemble(
        self, period: Period, rows_of: Any, files: tuple[str, ...]
    ) -> tuple[Extract, pa.Array]:
        config = self.config
        selected: dict[str, PeriodSelection] = {}
        unrestricted: dict[str, Rows] = {}
        for dataset in config.dictionary.datasets:
            if dataset.name == config.period_dataset:
                failures = self._failures(dataset.name)
                rows = rows_of(dataset.name, failures)
                failures.raise_if_any()
                selected[dataset.name] = select_period(
                    rows,
                    config.period_variable,
                    period,
                    referenced_variables(config, dataset.name),
                )
            else:
                unrestricted[dataset.name] = rows_of(dataset.name, None)
        by_dataset = {dataset.name: files for dataset in config.dictionary.datasets}
        extracted = assemble_extract(
            config, period, "fhir", selected, unrestricted, files=by_dataset
        )
        extracted = replace(  # what the readers left out, counted (decision 0692)
            extracted,
            duplicates={n: b.set_aside[0] for n, b in self.builders.items() if b.set_aside[0]},
            entered_in_error={
                n: b.set_aside[1] for n, b in self.builders.items() if b.set_aside[1]
            },
        )
        refs = [d.row_refs.cast(pa.string()) for d in extracted.datasets.values()]
        records = pa.concat_arrays(refs) if refs else pa.array([], pa.string())
        return extracted, records

    def stored(self, input_path: Path, period: Period) -> Extract:
        """The extract through the store reader (every resource held as a dict)."""
        builders = self.builders
        names = read_names(
            (path for builder in builders.values() for path in builder.paths()),
            (link for builder in builders.values() for link in builder.links()),
        )
        # Elements R4B requires of the delivered types stay in the store, so deliveries validate.
        names = names.union(*(required(resource_type) for resource_type in self.read.names))
        store = load_store(input_path, projector(names))
        kept = KeptResources(self.read, store.key_of) if self.carries else None

        def rows_of(name: str, failures: PeriodDateFailures | None) -> Rows:
            return builders[name].rows(store, failures, kept)

        extracted, records = self._assemble(period, rows_of, tuple(store.files))
        if kept is None:
            return extracted
        return replace(
            extracted,
            source_resources=KeptSources.of_table(
                kept.table(records.to_pylist()), self.options.work_dir
            ),
        )

    def streamed(self, input_path: Path, period: Period) -> Extract:
        """The extract through the streaming reader; :class:`Unsupported` when it cannot."""
        config = self.config
        specs = [
            self.builders[d.name].spec(raw_text=d.name == config.period_dataset)
            for d in config.dictionary.datasets
        ]
        streamed = read_input(
            input_path,
            specs,
            self.options.mrn_system,
            self.read if self.carries else None,
            self.options.work_dir,
            workers=self.options.read_workers,
            min_bytes=self.options.parallel_min_bytes,
        )
        if streamed.duplicates:
            keys = streamed.keys
            repeated = pc.unique(keys.key.take(pa.array(np.flatnonzero(~keys.first))))
            refuse_differing_copies(input_path, repeated.to_pylist())  # decision 0802
            log.info(
                "%d resource(s) appeared more than once; the first copy is used",
                streamed.duplicates,
            )
        log.info(
            "read %d FHIR resource(s) from %d file(s): %s",
            streamed.keys.count - streamed.duplicates,
            len(streamed.files),
            ", ".join(f"{t} {n}" for t, n in sorted(streamed.counts.items())),
        )
        assembler = Assembler(streamed)
        by_name = {spec.name: spec for spec in specs}

        def rows_of(name: str, failures: PeriodDateFailures | None) -> Rows:
            return self.builders[name].rows_from(assembler.records(by_name[name]), failures)

        extracted, records = self._assemble(period, rows_of, tuple(streamed.files))
        if not self.carries:
            return extracted
        return replace(extracted, source_resources=assembler.kept_table(records))
