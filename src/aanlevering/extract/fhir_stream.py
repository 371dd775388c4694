"""FHIR records from the streaming columns: the store reader's rules, with Arrow joins.

:mod:`aanlevering.extract.fhir_columns` reads each resource once into
columns; this module says what to read (per dataset its focus resources,
direct values, references to follow, related resources and Patients) and
then builds each dataset's records from those columns exactly as
:mod:`aanlevering.extract.fhir` does from the store: the same focus
selection (filter, entered-in-error), the same Patient link, "the first
related resource read that has a value wins", the same kept resources, and
the same input errors (file and line of the resource at fault).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import IDENTITY_FIELDS, CodeFilter
from aanlevering.errors import ExtractError
from aanlevering.extract.fhir_columns import (
    Builder,
    Chain,
    KeyBuilder,
    Keys,
    PackedTexts,
    Unsupported,
    choice_key,
    compile_local,
    dense,
    encode,
    first_at,
    quiet_gc,
    reference_of,
    remember,
    split,
)
from aanlevering.extract.fhir_entry_ids import identified_by_full_url
from aanlevering.extract.fhir_identity import patient_identity
from aanlevering.extract.fhir_patient_links import (
    NAMES_NONE,
    named_patients,
    patient_references,
)
from aanlevering.extract.fhir_resources import (
    PERSON_TYPES,
    ReadElements,
    cut_as_written,
    refuse_without_id,
)
from aanlevering.extract.fhir_store import SHAPE_ERRORS, InputResources, malformed
from aanlevering.extract.fhir_texts import ROWS_SCHEMA, KeptSources, TextFile, TextFileWriter
from aanlevering.extract.fhir_values import converter
from aanlevering.extract.fhirpath import ROOT_LINKS, FhirPath
from aanlevering.extract.model import ARROW_TYPES
from aanlevering.extract.rows import no_other_patient_links
from aanlevering.extract.select import MAX_LISTED

log = logging.getLogger(__name__)

_PATIENT_LINKS = ("subject", "patient")
_SHAPES: dict[str, type[Exception]] = {error.__name__: error for error in SHAPE_ERRORS}


@dataclass(frozen=True)
class VariableSpec:
    """One mapped variable as the store reader compiled it."""

    name: str
    type: str
    path: FhirPath
    resource: str | None
    link: str
    where: tuple[CodeFilter, FhirPath] | None
    value_map: Mapping[str, str] | None
    raw_text: bool = False


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset's focus resource, filter and variables."""

    name: str
    focus: str
    where: tuple[CodeFilter, FhirPath] | None
    variables: tuple[VariableSpec, ...]


@dataclass(frozen=True)
class StreamedRecords:
    """One dataset's records as columns, in focus reading order."""

    refs: pa.Array
    identities: dict[str, pa.Array]
    values: dict[str, pa.Array]
    raw_text: dict[str, pa.Array]
    failed: dict[str, pa.Array]
    #: (record, location of a linked resource of another patient), decision 0570.
    other_patient: pa.Table = field(default_factory=no_other_patient_links)
    #: Further copies of the records' resources (the first copy is read) and records
    #: entered in error: left out, counted in the run's accounting (decision 0692).
    duplicates: int = 0
    entered_in_error: int = 0


def entered_in_error(resource: Mapping[str, Any]) -> bool:
    """Resources recorded by mistake are never delivered."""
    if resource.get("status") == "entered-in-error":
        return True
    verification = resource.get("verificationStatus")
    if verification is None:
        return False  # most resources: no generator, no ABC check (decision 0335)
    verification = verification or {}
    codings = verification.get("coding") if isinstance(verification, Mapping) else None
    return any(
        isinstance(c, Mapping) and c.get("code") == "entered-in-error" for c in codings or ()
    )


Items = Callable[[dict[str, Any]], list[Any]]


def code_matcher(
    code_filter: tuple[CodeFilter, FhirPath] | None,
) -> Callable[[dict[str, Any]], bool] | None:
    """A test whether a coded element of a resource has the filter's system (and a code)."""
    if code_filter is None:
        return None
    spec, path = code_filter
    items = compile_local(path)
    system, codes = spec.system, spec.codes

    def matches(resource: dict[str, Any]) -> bool:
        for item in items(resource):
            if type(item) is not dict:
                continue
            codings = item.get("coding") if "coding" in item else [item]
            for coding in codings or ():
                if (
                    type(coding) is dict
                    and coding.get("system") == system
                    and (not codes or coding.get("code") in codes)
                ):
                    return True
        return False

    return matches


#: Distinct values one finisher remembers, and the longest text it remembers.
_MAX_FINISHED = 4_096
_MAX_FINISHED_TEXT = 64


def _finisher(variable: VariableSpec) -> Callable[[Any], tuple[Any, ...]]:
    """:func:`finisher_reference`, remembering what it gave for each short text and number.

    A variable's values repeat across millions of resources (dates, codes, rounded
    measurements), and mapping and converting one is a pure function of it: the
    answer for a value met before is looked up (decision 0990). Values are
    remembered per exact type, so ``True``, ``1`` and ``1.0`` never share an answer;
    a float zero is not remembered (``-0.0`` equals ``0.0`` but is written
    differently), nor a text longer than :data:`_MAX_FINISHED_TEXT`, nor anything
    once :data:`_MAX_FINISHED` values are held (hostile input with ever new values is
    converted value by value, in bounded memory).
    """
    plain = finisher_reference(variable)
    memos: dict[type, dict[Any, tuple[Any, ...]]] = {str: {}, int: {}, float: {}, bool: {}}

    def finish(value: Any) -> tuple[Any, ...]:
        kind = type(value)
        memo = memos.get(kind)
        if memo is None:
            return plain(value)
        found = memo.get(value)
        if found is not None:
            return found
        found = plain(value)
        if len(memo) < _MAX_FINISHED and (
            len(value) <= _MAX_FINISHED_TEXT
            if kind is str
            else -_MAX_SMALL_INT <= value <= _MAX_SMALL_INT
            if kind is int
            else kind is bool or value != 0.0
        ):
            memo[value] = found
        return found

    return finish


#: Integers remembered by a finisher: those of at most 18 digits (a key of bounded size).
_MAX_SMALL_INT = 10**18 - 1


def finisher_reference(variable: VariableSpec) -> Callable[[Any], tuple[Any, ...]]:
    """Map, convert and (for the period variable) keep the text of one read value."""
    value_map = variable.value_map
    conversion = converter(variable.type)  # what convert() applies, looked up once
    keep_text = variable.raw_text

    def finish(value: Any) -> tuple[Any, ...]:
        if value_map and isinstance(value, str | int | bool):
            key = str(value).lower() if isinstance(value, bool) else str(value)
            value = value_map.get(key, value)
        converted, ok = (None, True) if value is None else conversion(value)
        if keep_text:
            return converted, ok, (None if value is None else str(value))
        return converted, ok

    return finish


def _reference(resource: Mapping[str, Any], name: str) -> str | None:
    value = resource.get(name)
    if value is None:
        return None
    if (type(value) is dict or isinstance(value, Mapping)) and isinstance(
        value.get("reference"), str
    ):
        return str(value["reference"]).strip()
    return None


def _value_columns(variable: VariableSpec) -> dict[str, pa.DataType]:
    columns = {f"v_{variable.name}": ARROW_TYPES[variable.type]}
    columns[f"ok_{variable.name}"] = pa.bool_()
    if variable.raw_text:
        columns[f"raw_{variable.name}"] = pa.string()
    return columns


def _resolves(path: FhirPath, base_type: str) -> bool:
    """Whether evaluating ``path`` on a ``base_type`` would follow a reference."""
    leading = path.root_type is not None and path.root_type != base_type
    return leading or any(step.kind == "resolve" for step in path.steps)


_FOCUS_COLUMNS: dict[str, pa.DataType] = {
    "row": pa.int64(),
    "loc": pa.string(),
    "excluded": pa.bool_(),
    "error": pa.string(),
    "subject": pa.string(),
    "patient": pa.string(),
    "encounter": pa.string(),
}


class _Focus:
    """Reads one dataset's focus resources."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self.local: list[tuple[VariableSpec, Items, Callable[[Any], tuple[Any, ...]]]] = []
        self.chains: list[tuple[VariableSpec, Chain]] = []
        self.related: list[_Related] = []
        if spec.where is not None and _resolves(spec.where[1], spec.focus):
            raise Unsupported("a dataset filter that resolves a reference")
        self.where = code_matcher(spec.where)
        columns = dict(_FOCUS_COLUMNS)
        for variable in spec.variables:
            if variable.resource is not None:
                self.related.append(_Related(variable))
                continue
            compiled = split(variable.path, spec.focus)
            if isinstance(compiled, Chain):
                self.chains.append((variable, compiled))
            else:
                self.local.append((variable, compile_local(compiled), _finisher(variable)))
                columns.update(_value_columns(variable))
        self.rows = Builder(columns)
        # Chains that follow the same references (subject.resolve().gender and
        # .deceasedDateTime) share one evaluation and one column of them.
        self.chain_refs: list[tuple[Builder, Chain, Items | None]] = []
        self.refs: dict[str, Builder] = {}
        shared: dict[tuple[FhirPath | None, str | None], Builder] = {}
        for variable, chain in self.chains:
            builder = shared.get((chain.refs, chain.root))
            if builder is None:
                builder = Builder({"frow": pa.int64(), "link": pa.int8(), "ref": pa.string()})
                shared[(chain.refs, chain.root)] = builder
                compiled_refs = compile_local(chain.refs) if chain.refs else None
                self.chain_refs.append((builder, chain, compiled_refs))
            self.refs[variable.name] = builder
        self._blank = (None,) * (len(columns) - len(_FOCUS_COLUMNS))

    def read(self, resource: dict[str, Any], row: int, location: str) -> bool:
        """Project one focus-type resource; True when it is a record (so its text may be kept)."""
        try:
            if self.where is not None and not self.where(resource):
                return False
            if entered_in_error(resource):
                self.rows.add((row, location, True, None, None, None, None, *self._blank))
                return False
            encounter = resource.get("encounter") or resource.get("context")
            encounter_ref = (
                str(encounter["reference"]).strip()
                if (type(encounter) is dict or isinstance(encounter, Mapping))
                and isinstance(encounter.get("reference"), str)
                else None
            )
            values: list[Any] = []
            for _, items, finish in self.local:
                found = items(resource)
                values.extend(finish(found[0] if found else None))
            frow = self.rows.rows
            for builder, chain, refs in self.chain_refs:
                for link, ref in _chain_refs(chain, refs, resource):
                    builder.add((frow, link, ref))
            record = (
                row,
                location,
                False,
                None,
                _reference(resource, "subject"),
                _reference(resource, "patient"),
                encounter_ref,
                *values,
            )
        except SHAPE_ERRORS as error:
            self.rows.add(
                (row, location, False, type(error).__name__, None, None, None, *self._blank)
            )
            return False
        self.rows.add(record)
        return True


def _chain_refs(
    chain: Chain, refs: Items | None, resource: dict[str, Any]
) -> list[tuple[int, str]]:
    """The references a chain follows from ``resource``, with the link they came through."""
    found: list[tuple[int, str]] = []
    if refs is None:
        for link, name in enumerate(ROOT_LINKS[str(chain.root)]):
            value = resource.get(name)
            for item in value if isinstance(value, list) else [value]:
                reference = reference_of(item)
                if reference is not None:
                    found.append((link, reference))
        return found
    for item in refs(resource):
        reference = reference_of(item)
        if reference is not None:
            found.append((0, reference))
    return found


class _Related:
    """Reads the related resources of one variable (type, link, filter, value)."""

    def __init__(self, variable: VariableSpec) -> None:
        self.variable = variable
        compiled = split(variable.path, str(variable.resource))
        if isinstance(compiled, Chain):
            raise Unsupported("a related resource's path that resolves a reference")
        self.items = compile_local(compiled)
        if variable.where is not None and _resolves(variable.where[1], str(variable.resource)):
            raise Unsupported("a related resource's filter that resolves a reference")
        self.where = code_matcher(variable.where)
        self.finish = _finisher(variable)
        columns: dict[str, pa.DataType] = {
            "row": pa.int64(),
            "loc": pa.string(),
            "ref": pa.string(),
            "error": pa.string(),
            # whom the resource names, to leave out another patient's (decision 0570)
            "subject": pa.string(),
            "patient": pa.string(),
        }
        columns.update(_value_columns(variable))
        self.rows = Builder(columns)
        self._blank = (None,) * (len(columns) - 6)

    def read(
        self,
        resource: dict[str, Any],
        row: int,
        location: str,
        usable: bool | str,
        matched: bool = False,
    ) -> bool:
        """Project one resource of the related type; True when it has a value (may be kept).

        ``usable``: not entered in error (checked once per resource by the caller), or
        the name of the error that check met. ``matched``: the caller found that the
        filter selects ``resource`` (:class:`_RelatedOfType`).
        """
        error = usable if isinstance(usable, str) else None
        values: tuple[Any, ...] = self._blank
        if error is None:
            try:
                if not usable or (
                    not matched and self.where is not None and not self.where(resource)
                ):
                    return False
                found = self.items(resource)
            except SHAPE_ERRORS as failure:
                error = type(failure).__name__
            else:
                if not found:
                    return False
                values = self.finish(found[0])
        value = resource.get(self.variable.link)
        subject, patient = patient_references(resource)
        for item in value if isinstance(value, list) else [value]:
            if (type(item) is dict or isinstance(item, Mapping)) and isinstance(
                item.get("reference"), str
            ):
                reference = str(item["reference"]).strip()
                self.rows.add((row, location, reference, error, subject, patient, *values))
        return error is None


class _RelatedOfType:
    """The related readers of one resource type, their code filters tested in one pass.

    Readers of a type usually filter the same element (``code``) for different
    codes (four Observations per operation): instead of each walking the codings
    again, one walk finds which readers' filters select the resource, and only
    those read it (decision 0315). Readers with differing or no filter paths, a
    resource entered in error or with an error, or codings of the wrong shape take
    the general way, reader by reader.
    """

    def __init__(self, readers: list[_Related]) -> None:
        self.readers = readers
        filters = [reader.variable.where for reader in readers]
        paths = {f[1] for f in filters if f is not None}
        self.items: Items | None = None
        self.by_system: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        if len(readers) > 1 and all(f is not None for f in filters) and len(paths) == 1:
            self.items = compile_local(paths.pop())
            for index, found in enumerate(filters):
                spec = cast(tuple[CodeFilter, FhirPath], found)[0]
                self.by_system.setdefault(spec.system, []).append((index, spec.codes))

    def read(self, resource: dict[str, Any], row: int, location: str, usable: bool | str) -> bool:
        """Hand ``resource`` to the readers whose filters select it (or to all, the general way)."""
        matched = self._matched(resource) if usable is True else None
        keep = False
        if matched is None:
            for related in self.readers:
                keep = related.read(resource, row, location, usable) or keep
            return keep
        for related, hit in zip(self.readers, matched, strict=True):
            if hit:
                keep = related.read(resource, row, location, usable, matched=True) or keep
        return keep

    def _matched(self, resource: dict[str, Any]) -> list[bool] | None:
        """Per reader whether its filter selects ``resource``; None: ask each reader."""
        if self.items is None:
            return None
        found = [False] * len(self.readers)
        try:
            for item in self.items(resource):
                if type(item) is not dict:
                    continue
                codings = item.get("coding") if "coding" in item else [item]
                for coding in codings or ():
                    if type(coding) is not dict:
                        continue
                    system = coding.get("system")
                    if type(system) is not str:
                        continue
                    for index, codes in self.by_system.get(system, ()):
                        if not codes or coding.get("code") in codes:
                            found[index] = True
        except SHAPE_ERRORS:
            return None  # each reader meets (and records) the error itself
        return found


class _Target:
    """Reads what a chain's ``resolve()`` reads on every resource it may point at."""

    def __init__(self, variable: VariableSpec, chain: Chain) -> None:
        self.variable = variable
        self.chain = chain
        self.root = chain.root
        self.items = compile_local(chain.target)
        steps = chain.target.steps
        #: The element the path starts with: without it the path selects nothing.
        self.first: str | None = None
        if steps and steps[0].kind in ("name", "extension"):
            self.first = steps[0].name if steps[0].kind == "name" else "extension"
        self.finish = _finisher(variable)
        columns: dict[str, pa.DataType] = {
            "row": pa.int64(),
            "error": pa.string(),
            # where the target is and whom it names: another patient's is not read (0571)
            "loc": pa.string(),
            "subject": pa.string(),
            "patient": pa.string(),
        }
        columns.update(_value_columns(variable))
        self.rows = Builder(columns)
        self._blank = (None,) * (len(columns) - 5)

    def may_select(self, resource: dict[str, Any], resource_type: str) -> bool:
        """False when :meth:`read` surely keeps nothing of ``resource`` (no first element)."""
        if self.root and resource_type != self.root:
            return False
        if self.first is None:
            return True
        return self.first in resource or choice_key(resource, self.first) is not None

    def read(self, resource: dict[str, Any], row: int, location: str, resource_type: str) -> None:
        """Evaluate the target steps on one resource; keep a row when they select something."""
        if self.root and resource_type != self.root:
            return
        try:
            found = self.items(resource)
        except SHAPE_ERRORS as error:
            subject, patient = patient_references(resource)
            self.rows.add((row, type(error).__name__, location, subject, patient, *self._blank))
            return
        if found:
            subject, patient = patient_references(resource)
            self.rows.add((row, None, location, subject, patient, *self.finish(found[0])))


_IDENTITY_COLUMNS: dict[str, pa.DataType] = {
    "row": pa.int64(),
    "loc": pa.string(),
    "error": pa.string(),
    **{name: pa.string() for name in IDENTITY_FIELDS},
}


@dataclass
class StreamedInput:
    """Everything read from the input, as columns."""

    keys: Keys
    files: list[str]
    focus: dict[str, _Focus]
    targets: dict[tuple[str, str], _Target]
    patients: pa.Table
    texts: PackedTexts | None
    duplicates: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class _Dispatch:
    """Hands each resource to the readers of its type, once."""

    def __init__(
        self,
        datasets: Sequence[DatasetSpec],
        read: ReadElements | None,
        folder: Path | None,
        *,
        compress_texts: bool = True,
    ) -> None:
        self.focus = {spec.name: _Focus(spec) for spec in datasets}
        self.by_focus: dict[str, list[_Focus]] = {}
        self.by_related: dict[str, list[_Related]] = {}
        self.targets: dict[tuple[str, str], _Target] = {}
        for reader in self.focus.values():
            self.by_focus.setdefault(reader.spec.focus, []).append(reader)
            for related in reader.related:
                self.by_related.setdefault(str(related.variable.resource), []).append(related)
            for variable, chain in reader.chains:
                self.targets[(reader.spec.name, variable.name)] = _Target(variable, chain)
        self.related_of_type = {
            kind: _RelatedOfType(readers) for kind, readers in self.by_related.items()
        }
        self.evaluated = [t for t in self.targets.values() if not t.chain.reads_id]
        self._applicable: dict[tuple[str, tuple[str, ...]], list[_Target]] = {}
        self.read = read
        self.texts = PackedTexts(folder, compressed=compress_texts) if read else None

    def applicable(self, resource: dict[str, Any], kind: str) -> list[_Target]:
        """The targets whose path may select something on ``resource`` (the rest select nothing).

        A target path starting with an element name (or ``extension(...)``) selects
        nothing on a resource without that element, and one with a leading type
        nothing on another type; so each is evaluated only on resources that have
        its first element. Decided once per resource type and keys in order.
        """
        keys = tuple(resource)
        shape = (kind, keys)
        found = self._applicable.get(shape)
        if found is None:
            found = [t for t in self.evaluated if t.may_select(resource, kind)]
            remember(self._applicable, shape, keys, found)
        return found

    def __call__(self, resource: dict[str, Any], row: int, location: str, kind: str) -> None:
        keep = False
        for reader in self.by_focus.get(kind, ()):
            keep = reader.read(resource, row, location) or keep
        related_readers = self.related_of_type.get(kind)
        if related_readers:
            usable: bool | str
            try:
                usable = not entered_in_error(resource)
            except SHAPE_ERRORS as error:
                usable = type(error).__name__  # each reader records it against its candidates
            keep = related_readers.read(resource, row, location, usable) or keep
        if self.evaluated:
            for target in self.applicable(resource, kind):
                target.read(resource, row, location, kind)
        if keep and self.texts is not None and self.read is not None:
            self.texts.add((row, _cut_text(resource, self.read)))


class PartReader:
    """Reads resources into the columns: the key, Patient, focus, related, target and text builders.

    One per process: the whole input in one process, or one part of it in each
    (:mod:`aanlevering.extract.fhir_parallel`), with rows counted from 0.
    ``compress_texts`` False: the kept texts are a worker's hand-over file (decision 0500).
    """

    def __init__(
        self,
        datasets: Sequence[DatasetSpec],
        mrn_system: str | None,
        read: ReadElements | None,
        texts_folder: Path | None,
        *,
        compress_texts: bool = True,
    ) -> None:
        self.dispatch = _Dispatch(datasets, read, texts_folder, compress_texts=compress_texts)
        self.keys = KeyBuilder()
        self.patients = Builder(_IDENTITY_COLUMNS)
        self.mrn_system = mrn_system
        self.counts: dict[str, int] = {}

    def read(self, resources: Iterable[tuple[Mapping[str, Any], str, str | None]]) -> None:
        """Project every resource of ``resources`` (in reading order) into the builders."""
        keys, patients, dispatch, counts = self.keys, self.patients, self.dispatch, self.counts
        mrn_system = self.mrn_system
        with quiet_gc():
            resource: dict[str, Any]  # decoded JSON (and XML) objects are dicts
            for entry, location, full_url in resources:
                # An id-less Bundle entry's resource takes its fullUrl's uuid (decision 0560).
                identified = identified_by_full_url(entry, full_url) if full_url else None
                resource = entry if identified is None else identified  # type: ignore[assignment]
                try:
                    row = keys.add(resource, location, full_url)
                except SHAPE_ERRORS as error:
                    raise malformed(location, resource, error) from None
                kind = str(resource["resourceType"])
                counts[kind] = counts.get(kind, 0) + 1
                if kind == "Patient":
                    _read_patient(patients, resource, row, location, mrn_system)
                dispatch(resource, row, location, kind)
        # What the read made is all in the youngest generation (nothing collected while it
        # read): collecting that one frees its cycles without walking the whole heap (0862).
        gc.collect(0)

    def builders(self) -> list[tuple[Builder, str, Builder] | tuple[Builder, None, None]]:
        """Every column builder but the texts', in a fixed order, with its column of row numbers.

        Each builder comes with the column that numbers rows of another builder
        (``row``: resource rows, counted by the key builder; ``frow``: the focus
        builder's positions, for the chains' references) and that builder.
        Processes that read parts of one input list the same builders in the same order.
        """
        rows = self.keys.columns
        found: list[tuple[Builder, str, Builder] | tuple[Builder, None, None]] = [
            (rows, None, None),
            (self.patients, "row", rows),
        ]
        for reader in self.dispatch.focus.values():
            found.append((reader.rows, "row", rows))
            found.extend((builder, "frow", reader.rows) for builder, _, _ in reader.chain_refs)
            found.extend((related.rows, "row", rows) for related in reader.related)
        found.extend((target.rows, "row", rows) for target in self.dispatch.targets.values())
        return found

    def done(self, files: list[str]) -> StreamedInput:
        """Everything read, as columns (``files``: the files read, in order)."""
        dispatch = self.dispatch
        key_columns = self.keys.done()
        if self.keys.odd_ids and any(t.chain.reads_id for t in dispatch.targets.values()):
            raise Unsupported("a path reads the id of a resource whose id is not text")
        return StreamedInput(
            keys=key_columns,
            files=files,
            focus=dispatch.focus,
            targets=dispatch.targets,
            patients=self.patients.table(),
            texts=dispatch.texts,
            duplicates=int((~key_columns.first).sum()),
            counts=self.counts,
        )


def read_input(
    input_path: Path,
    datasets: Sequence[DatasetSpec],
    mrn_system: str | None,
    read: ReadElements | None,
    texts_folder: Path | None = None,
) -> StreamedInput:
    """Read every resource of the input into columns in one process (``read``: keep cut texts).

    ``texts_folder``: where the cut texts wait on disk (the run's work folder; a
    private temporary folder when None).
    """
    reader = PartReader(datasets, mrn_system, read, texts_folder)
    resources = InputResources(Path(input_path))
    reader.read(resources)
    return reader.done(resources.files)


def _read_patient(
    patients: Builder, resource: dict[str, Any], row: int, location: str, mrn_system: str | None
) -> None:
    try:
        identity = patient_identity(resource, mrn_system)
    except SHAPE_ERRORS as error:
        patients.add((row, location, type(error).__name__, *(None for _ in IDENTITY_FIELDS)))
        return
    patients.add((row, location, None, *map(identity.get, IDENTITY_FIELDS)))


def _cut_text(resource: dict[str, Any], read: ReadElements) -> str:
    """The kept text with references as written (canonical ones are fixed when kept)."""
    if resource.get("resourceType") in PERSON_TYPES:
        return ""
    return cut_as_written(resource, read)


def _shape_error(location: str, resource_type: str, name: str) -> ExtractError:
    return malformed(location, {"resourceType": resource_type}, _SHAPES.get(name, TypeError)())


def _numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))


class Assembler:
    """Builds each dataset's records from the streamed columns."""

    def __init__(self, streamed: StreamedInput) -> None:
        self.streamed = streamed
        self.keys = streamed.keys
        self.first = streamed.keys.first
        self.is_patient = _numpy(pc.equal(streamed.keys.type, "Patient")).astype(bool)
        patients = streamed.patients
        self.patients = patients.filter(pa.array(self.first[_numpy(patients.column("row"))]))
        patient_rows = _numpy(self.patients.column("row")).astype(np.int64)
        self.patient_at = dense(patient_rows, self.keys.count)
        self.related_rows = {
            (name, related.variable.name): self._with_named(related.rows)
            for name, reader in streamed.focus.items()
            for related in reader.related
        }
        self.target_rows = {key: self._with_named(t.rows) for key, t in streamed.targets.items()}
        self.kept: list[tuple[pa.Array, np.ndarray]] = []
        #: The current dataset's (record, location) of linked resources of another patient.
        self.others: list[pa.Table] = []

    def _with_named(self, builder: Builder) -> pa.Table:
        """The builder's rows with the patient each names instead of its reference texts.

        Whom a related resource or a chain's target names (decision 0570) is kept as
        the Patient's row (:func:`named_patients`), eight bytes, instead of the two
        reference texts of about fifty: they were the largest columns held through
        the assembly, the extract's peak (decision 0580). The builder is emptied, so
        the texts' memory goes now.
        """
        table = builder.drain()
        named = named_patients(
            self.keys, self.is_patient, [table.column("subject"), table.column("patient")]
        )
        return table.drop_columns(list(_PATIENT_LINKS)).append_column("named", pa.array(named))

    def records(self, spec: DatasetSpec) -> StreamedRecords:
        """The records of one dataset; raises what the store reader raises on the same input."""
        reader = self.streamed.focus[spec.name]
        table = reader.rows.table()
        table = table.append_column("position", pa.array(np.arange(table.num_rows)))
        rows = _numpy(table.column("row")).astype(np.int64)
        firsts = self.first[rows]
        table = table.filter(pa.array(firsts))
        # Every further copy of a record's resource, wherever it was read (decision 0692).
        duplicates = int(self._copies[rows[firsts]].sum()) if len(rows) else 0
        errors = table.filter(pc.is_valid(table.column("error")))
        if errors.num_rows:
            raise _shape_error(
                str(errors.column("loc")[0]), spec.focus, str(errors.column("error")[0])
            )
        excluded = pc.fill_null(table.column("excluded"), False)
        entered_in_error = int(pc.sum(excluded).as_py() or 0)
        if entered_in_error:
            log.info(
                "%s: %d %s resource(s) entered-in-error left out",
                spec.name,
                pc.sum(excluded).as_py(),
                spec.focus,
            )
        table = table.filter(pc.invert(excluded))
        rows = _numpy(table.column("row")).astype(np.int64)
        patient = self._patients(spec, table, rows)
        orphan = patient < 0
        locations = table.column("loc")
        if orphan.any():
            self._refuse_orphans(spec, locations, orphan)
        patient_rows = self.patient_at[patient]
        errors_at = self.patients.column("error").take(pa.array(patient_rows))
        if pc.any(pc.is_valid(errors_at)).as_py():
            first = int(np.where(_numpy(pc.is_valid(errors_at)))[0][0])
            position = int(patient_rows[first])
            raise _shape_error(
                str(self.patients.column("loc")[position]),
                "Patient",
                str(self.patients.column("error")[position]),
            )
        identities = {
            name: self.patients.column(name).take(pa.array(patient_rows)).combine_chunks()
            for name in IDENTITY_FIELDS
        }
        values: dict[str, pa.Array] = {}
        oks: dict[str, np.ndarray] = {}
        raws: dict[str, pa.Array] = {}
        used: dict[str, np.ndarray] = {}
        chains = {variable.name: chain for variable, chain in reader.chains}
        related = {r.variable.name: r for r in reader.related}
        for variable in spec.variables:
            if variable.name in related:
                picked, source, used_rows = self._related(
                    spec, related[variable.name].variable, table, rows, patient
                )
                used[variable.name] = used_rows
            elif variable.name in chains:
                picked, source = self._chain(
                    spec, reader, variable, chains[variable.name], table, patient=patient
                )
            else:
                picked, source = np.arange(table.num_rows), table
            values[variable.name], oks[variable.name], raws[variable.name] = _take(
                variable, source, picked
            )
        self.kept.append((locations.combine_chunks(), self._kept_rows(spec, rows, used)))
        refs = locations.combine_chunks()
        failed = {name: pc.filter(refs, pa.array(~ok)) for name, ok in oks.items() if (~ok).any()}
        others = pa.concat_tables([no_other_patient_links(), *self.others]).combine_chunks()
        self.others = []
        return StreamedRecords(
            refs,
            identities,
            values,
            raws,
            failed,
            others,
            duplicates=duplicates,
            entered_in_error=entered_in_error,
        )

    @cached_property
    def _copies(self) -> np.ndarray:
        """Per resource row: how many further copies of its key the input holds."""
        first_of = np.asarray(self.keys.first_of, dtype=np.int64)
        return np.bincount(first_of, minlength=len(first_of)) - 1

    def _patients(self, spec: DatasetSpec, table: pa.Table, rows: np.ndarray) -> np.ndarray:
        if spec.focus == "Patient":
            return rows.copy()
        patient = np.full(len(rows), -1, dtype=np.int64)
        for name in _PATIENT_LINKS:
            found = self.keys.rows_of(table.column(name))
            good = (patient < 0) & (found >= 0)
            good[good] = self.is_patient[found[good]]
            patient[good] = found[good]
        return patient

    def _refuse_orphans(
        self, spec: DatasetSpec, locations: pa.ChunkedArray, orphan: np.ndarray
    ) -> None:
        orphans = pc.filter(locations, pa.array(orphan)).to_pylist()
        listed = ", ".join(orphans[:MAX_LISTED])
        more = f" and {len(orphans) - MAX_LISTED} more" if len(orphans) > MAX_LISTED else ""
        raise ExtractError(
            f"{len(orphans)} {spec.focus} resource(s) of dataset {spec.name!r} refer to a "
            f"patient that is not in the input: {listed}{more} (a bulk export must include "
            "Patient resources)"
        )

    def _related(
        self,
        spec: DatasetSpec,
        variable: VariableSpec,
        table: pa.Table,
        rows: np.ndarray,
        patient: np.ndarray,
    ) -> tuple[np.ndarray, pa.Table, np.ndarray]:
        """Per record the row of the related table its value comes from (-1: none)."""
        candidates = self.related_rows.pop((spec.name, variable.name))
        first = self.first[_numpy(candidates.column("row")).astype(np.int64)]
        if not first.all():  # a filter copies every column, even when it keeps them all
            candidates = candidates.filter(pa.array(first))
        target = self.keys.rows_of(candidates.column("ref"))
        if variable.link != "encounter" or spec.focus == "Encounter":
            wanted = rows
        else:
            wanted = self.keys.rows_of(table.column("encounter"))
        error = _numpy(pc.is_valid(candidates.column("error"))).astype(bool)
        if error.any():
            bad = np.where(error & np.isin(target, wanted[wanted >= 0]))[0]
            if len(bad):
                raise _shape_error(
                    str(candidates.column("loc")[int(bad[0])]),
                    str(variable.resource),
                    str(candidates.column("error")[int(bad[0])]),
                )
        named = _numpy(candidates.column("named")).astype(np.int64)
        readable = (target >= 0) & ~error
        picked = _first_own(target, named, readable, wanted, patient)
        self._count_others(
            table,
            candidates,
            target=target,
            named=named,
            readable=readable,
            wanted=wanted,
            patient=patient,
        )
        candidate_rows = _numpy(candidates.column("row")).astype(np.int64)
        used = _at(candidate_rows, picked)
        return picked, candidates, used

    def _count_others(
        self,
        table: pa.Table,
        candidates: pa.Table,
        *,
        target: np.ndarray,
        named: np.ndarray,
        readable: np.ndarray,
        wanted: np.ndarray,
        patient: np.ndarray,
    ) -> None:
        """Note (record, location) of every candidate of a record that names another patient."""
        naming = np.flatnonzero(readable & (named != NAMES_NONE))
        if not len(naming) or not len(wanted):
            return
        order = np.argsort(wanted, kind="stable")
        ordered = wanted[order]
        low = np.searchsorted(ordered, target[naming], "left")
        high = np.searchsorted(ordered, target[naming], "right")
        sizes = high - low
        candidate = np.repeat(naming, sizes)
        starts = np.repeat(low - np.cumsum(sizes) + sizes, sizes)
        record = order[starts + np.arange(int(sizes.sum()))]
        other = patient[record] != named[candidate]
        if not other.any():
            return
        self.others.append(
            pa.table(
                {
                    "record": table.column("loc").take(pa.array(record[other])),
                    "location": candidates.column("loc").take(pa.array(candidate[other])),
                }
            )
        )

    def _chain(
        self,
        spec: DatasetSpec,
        reader: _Focus,
        variable: VariableSpec,
        chain: Chain,
        table: pa.Table,
        *,
        patient: np.ndarray,
    ) -> tuple[np.ndarray, pa.Table]:
        """Per record the row of the target table its value comes from (-1: none)."""
        refs = reader.refs[variable.name].table()
        position_of = self._focus_positions(reader, table)
        frow = _numpy(refs.column("frow")).astype(np.int64)
        record = position_of[frow] if len(frow) else frow
        keep = record >= 0
        refs = refs.filter(pa.array(keep))
        record = record[keep]
        target = self.keys.rows_of(refs.column("ref"))
        link = _numpy(refs.column("link")).astype(np.int64)
        if chain.root is not None:
            typed = target >= 0
            typed[typed] = _numpy(
                pc.equal(self.keys.type.take(pa.array(target[typed])), chain.root)
            )
            lowest = np.full(table.num_rows, 99, dtype=np.int64)
            np.minimum.at(lowest, record[typed], link[typed])
            eligible = typed & (link == lowest[record])
        else:
            eligible = target >= 0
        if chain.reads_id:
            ids = self.keys.id.take(pa.array(np.maximum(target, 0), pa.int64()))
            claims = eligible & _numpy(pc.is_valid(ids)).astype(bool)
            picked = first_at(record, np.where(claims)[0], np.arange(table.num_rows))
            chosen = np.maximum(_at(target, picked), 0)
            id_values = self.keys.id.take(pa.array(chosen)).to_pylist()
            finish = _finisher(variable)
            results = [
                finish(value if index >= 0 else None)
                for index, value in zip(picked.tolist(), id_values, strict=True)
            ]
            types = _value_columns(variable)
            columns = list(zip(*results, strict=True)) if results else [()] * len(types)
            source = pa.table(
                {
                    name: pa.array(column, types[name])
                    for name, column in zip(types, columns, strict=True)
                }
            )
            return np.arange(table.num_rows), source
        nodes = self.target_rows.pop((spec.name, variable.name))
        node_at = dense(_numpy(nodes.column("row")).astype(np.int64), self.keys.count)
        node = np.where(eligible, _at(node_at, target), -1)
        self._refuse_other_patients(
            table, nodes, node, target=target, record=record, patient=patient
        )
        errors = _numpy(pc.is_valid(nodes.column("error"))).astype(bool)
        if errors.any():
            bad = _at(errors.astype(np.int64), node) > 0
            if bad.any():
                at = int(record[np.where(bad)[0][0]])
                name = str(nodes.column("error")[int(node[np.where(bad)[0][0]])])
                raise _shape_error(str(table.column("loc")[at]), spec.focus, name)
        best = first_at(record, np.where(node >= 0)[0], np.arange(table.num_rows))
        picked = _at(node, best)
        return picked, nodes

    def _refuse_other_patients(
        self,
        table: pa.Table,
        nodes: pa.Table,
        node: np.ndarray,
        *,
        target: np.ndarray,
        record: np.ndarray,
        patient: np.ndarray,
    ) -> None:
        """Unset (-1) each target of another patient in ``node``, noting it (decision 0571).

        Another patient's is a Patient that is not the record's, or a resource naming
        a patient that is not the record's (as for related resources, 0570).
        """
        hit = np.flatnonzero(node >= 0)
        if not len(hit):
            return
        named = _numpy(nodes.column("named").take(pa.array(node[hit]))).astype(np.int64)
        named = np.where(self.is_patient[target[hit]], target[hit], named)
        other = (named != NAMES_NONE) & (named != patient[record[hit]])
        if not other.any():
            return
        refused = hit[other]
        self.others.append(
            pa.table(
                {
                    "record": table.column("loc").take(pa.array(record[refused])),
                    "location": nodes.column("loc").take(pa.array(node[refused])),
                }
            )
        )
        node[refused] = -1

    def _focus_positions(self, reader: _Focus, table: pa.Table) -> np.ndarray:
        """Builder position of each focus row -> record index in ``table`` (-1: not a record)."""
        positions = _numpy(table.column("position")).astype(np.int64)
        out = np.full(reader.rows.rows, -1, dtype=np.int64)
        out[positions] = np.arange(len(positions))
        return out

    def _kept_rows(
        self, spec: DatasetSpec, rows: np.ndarray, used: dict[str, np.ndarray]
    ) -> np.ndarray:
        """Per record its resources, in the store reader's order: focus, then per variable."""
        columns = [rows] + [
            np.where(used[v.name] == rows, -1, used[v.name])
            for v in spec.variables
            if v.name in used
        ]
        return np.stack(columns, axis=1) if columns else np.empty((len(rows), 0), np.int64)

    def kept_table(self, records: Sequence[str] | pa.Array | pa.ChunkedArray) -> KeptSources:
        """(row_ref, key, where the text is) of the kept records' resources, in reading order.

        The texts stay in the file they were written to while reading (decision 0310).
        """
        texts = self.streamed.texts
        assert texts is not None, "the input was read without keeping texts"
        self.streamed.texts = None
        self._release_joins()  # before the kept rows' columns are taken (the extract's peak)
        wanted = (
            records.cast(pa.string())
            if isinstance(records, pa.Array | pa.ChunkedArray)
            else pa.array(list(records), pa.string())
        )
        text_rows = texts.text_rows()
        text_at = dense(text_rows, self.keys.count)
        out_refs: list[pa.Array] = []
        out_rows: list[np.ndarray] = []
        for locations, kept in self.kept:
            mask = _numpy(pc.is_in(locations, value_set=wanted)).astype(bool)
            chosen = kept[mask]
            self._refuse_focus_without_id(locations.filter(pa.array(mask)), chosen)
            flat = chosen.reshape(-1)
            repeat = np.repeat(np.where(mask)[0], kept.shape[1])
            keep = flat >= 0
            out_refs.append(locations.take(pa.array(repeat[keep])))
            out_rows.append(flat[keep])
        rows = np.concatenate(out_rows) if out_rows else np.empty(0, np.int64)
        refs = pa.concat_arrays(out_refs) if out_refs else pa.array([], pa.string())
        keys = self.keys.key.take(pa.array(rows, pa.int64()))
        types = self.keys.type.take(pa.array(rows, pa.int64()))
        ids = self.keys.id.take(pa.array(rows, pa.int64()))
        good = _numpy(
            pc.and_(
                pc.invert(pc.is_in(types, value_set=pa.array(sorted(PERSON_TYPES)))),
                pc.and_(pc.is_valid(ids), pc.match_substring(keys, "/")),
            )
        ).astype(bool)
        good &= text_at[rows] >= 0
        positions = text_at[rows[good]]
        file, sizes = texts.close()
        kept_sources = KeptSources(
            pa.table(
                [
                    pc.filter(refs, pa.array(good)),
                    pc.filter(keys, pa.array(good)),
                    pa.array(positions, pa.int64()),
                    pa.array(sizes[positions], pa.int64()),
                ],
                schema=ROWS_SCHEMA,
            ),
            file,
        )
        if self.keys.full_urls.num_rows or texts.odd_references:
            return self._canonical(kept_sources, texts.folder)
        return kept_sources

    def _refuse_focus_without_id(self, locations: pa.Array, chosen: np.ndarray) -> None:
        """Stop when a kept record's own resource (the first column) has no id (0541)."""
        if not len(chosen) or not chosen.shape[1]:
            return
        focus = pa.array(chosen[:, 0], pa.int64())
        ids = self.keys.id.take(focus)
        keys = self.keys.key.take(focus)
        bad = _numpy(
            pc.fill_null(pc.or_(pc.invert(pc.is_valid(ids)), pc.equal(ids, "")), True)
        ).astype(bool)
        bad |= ~_numpy(pc.fill_null(pc.match_substring(keys, "/"), False)).astype(bool)
        if bad.any():
            where = np.flatnonzero(bad)
            kind = str(self.keys.type[int(chosen[where[0], 0])])
            refuse_without_id(kind, locations.take(pa.array(where)).to_pylist())

    def _release_joins(self) -> None:
        """Every record is built: what the joins read goes before the kept texts are laid out.

        ``kept_table`` is the assembler's last step; the focus, related and target
        columns and the Patients' identities (a few hundred MiB at 200k patients)
        would otherwise sit beside the laid-out texts at the extract's peak.
        """
        self.streamed.focus = {}
        self.streamed.targets = {}
        self.related_rows = {}
        self.target_rows = {}
        self.streamed.patients = self.streamed.patients.slice(0, 0)
        self.patients = self.patients.slice(0, 0)
        self.patient_at = np.empty(0, np.int64)

    def _canonical(self, kept: KeptSources, folder: Path | None) -> KeptSources:
        """References rewritten to ``Type/id`` in the input, as the store reader writes them.

        Bundles (``fullUrl``, ``urn:uuid:``) and absolute references only: two passes
        over the kept texts, a window at a time; the rewritten texts get a file of
        their own, in row order.
        """
        found: set[str] = set()
        for _, texts in kept.text_windows():
            for text in texts.to_pylist():
                references: list[str] = []
                _collect_references(msgspec.json.decode(text), references)
                found.update(references)
        distinct = sorted(found)
        rows = self.keys.rows_of(pa.array(distinct, pa.string()))
        keys = self.keys.key.take(pa.array(np.maximum(rows, 0))).to_pylist()
        mapping = {
            ref: key
            for ref, row, key in zip(distinct, rows.tolist(), keys, strict=True)
            if row >= 0
        }
        writer = TextFileWriter(folder, "canonical-texts")
        for _, texts in kept.text_windows():
            rewritten = [
                encode(_rewrite(msgspec.json.decode(text), mapping)) for text in texts.to_pylist()
            ]
            writer.write(pa.array(rewritten, pa.string()))
        file: TextFile = writer.close()
        sizes = writer.sizes()
        kept.texts.discard()
        table = kept.rows.set_column(
            2, "at", pa.array(np.arange(kept.num_rows), pa.int64())
        ).set_column(3, "size", pa.array(sizes, pa.int64()))
        return KeptSources(table, file)


def _collect_references(value: Any, found: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect_references(item, found)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                found.append(item.strip())
            else:
                _collect_references(item, found)


def _rewrite(value: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(value, list):
        return [_rewrite(item, mapping) for item in value]
    if isinstance(value, dict):
        return {
            key: (
                mapping.get(item.strip(), item)
                if key == "reference" and isinstance(item, str)
                else _rewrite(item, mapping)
            )
            for key, item in value.items()
        }
    return value


def _first_own(
    target: np.ndarray,
    named: np.ndarray,
    readable: np.ndarray,
    wanted: np.ndarray,
    patient: np.ndarray,
) -> np.ndarray:
    """Per record the first readable candidate on its target naming no patient or its own.

    The store reader's "first one read that has a value wins", among the candidates
    a record may read (decision 0570): one naming no patient, on any record of its
    target; one naming a patient, only on records of that patient (matched on the
    pair target and patient).
    """
    anyone = first_at(target, np.flatnonzero(readable & (named == NAMES_NONE)), wanted)
    width = np.int64(max(int(named.max(initial=0)), int(patient.max(initial=0))) + 1)
    pairs = np.where(target >= 0, target * width + np.maximum(named, 0), -1)
    own = first_at(
        pairs,
        np.flatnonzero(readable & (named >= 0)),
        np.where(wanted >= 0, wanted * width + patient, -2),
    )
    return np.where((own >= 0) & ((anyone < 0) | (own < anyone)), own, anyone)


def _at(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[index]`` where ``index`` >= 0, -1 elsewhere (safe on empty ``values``)."""
    out = np.full(len(index), -1, dtype=np.int64)
    hit = index >= 0
    if hit.any():
        out[hit] = values[index[hit]]
    return out


def _take(
    variable: VariableSpec, source: pa.Table, picked: np.ndarray
) -> tuple[pa.Array, np.ndarray, pa.Array]:
    """The value, ok flag and text of each record from ``source`` rows (-1: missing, ok)."""
    name = variable.name
    target = ARROW_TYPES[variable.type]
    if len(picked) == 0 or source.num_rows == 0:
        count = len(picked)
        return pa.nulls(count, target), np.ones(count, bool), pa.nulls(count, pa.string())
    index = pa.array(np.where(picked >= 0, picked, 0))
    missing = pa.array(picked < 0)
    value = source.column(f"v_{name}").take(index).combine_chunks()
    value = pc.if_else(missing, pa.nulls(len(picked), target), value)
    ok = _numpy(pc.fill_null(source.column(f"ok_{name}").take(index), True)).astype(bool)
    ok[picked < 0] = True
    if f"raw_{name}" in source.column_names:
        raw = source.column(f"raw_{name}").take(index).combine_chunks()
        raw = pc.if_else(missing, pa.nulls(len(picked), pa.string()), raw)
    else:
        raw = pa.nulls(len(picked), pa.string())
    return value, ok, raw
