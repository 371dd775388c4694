"""What one delivery contains, before it is written in a format.

The writers receive the extract's datasets (clinical tables with the
``patient_id`` of each row in the identity table), the pseudonyms of each
patient, and, for FHIR sources, the source Patients and clinical resources to
minimise. This module resolves, once, which patients are delivered, their
delivered Patient ids and the generalised forms their Patient may carry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import OutputError
from aanlevering.extract.model import ExtractedDataset
from aanlevering.fhir.context import DeliveryContext
from aanlevering.fhir.generalised import (
    BIRTH_YEAR,
    FORM_FUNCTIONS,
    NO_FORMS,
    PC4,
    SEX,
    GeneralisedForms,
    forms_of_source_patient,
    generalised_variables,
)
from aanlevering.fhir.patient import PATIENT_KIND
from aanlevering.pseudonym.model import PatientPseudonyms, PseudonymTable

log = logging.getLogger(__name__)

OutputFormat = Literal["csv", "fhir-ndjson", "fhir-bundle"]


@dataclass(frozen=True)
class SourceResource:
    """A FHIR resource from the source, with the fullUrl it had in a source Bundle."""

    resource: Mapping[str, Any]
    full_url: str | None = None


@dataclass(frozen=True)
class DeliveryInput:
    """Everything a delivery is written from.

    ``datasets``: the extract's datasets (opt-outs already removed), each with
    a ``patient_id`` column in its identity table. ``pseudonyms``: per
    ``patient_id``. ``source_patients``: per ``patient_id``, the source FHIR
    Patient (FHIR sources only): references to it in ``source_resources`` are
    re-pointed, and the generalised forms the dictionary asks for are taken
    from it when the clinical table has none. ``records``: write one
    QuestionnaireResponse per record (``delivery.fhir_content`` questionnaire or
    both). ``closed``: references to anything not delivered are removed, so
    every reference resolves inside the delivery (what the pipeline delivers).
    """

    context: DeliveryContext
    datasets: Mapping[str, ExtractedDataset]
    pseudonyms: Mapping[str, PatientPseudonyms]
    source_patients: Mapping[str, SourceResource] = field(default_factory=dict)
    source_resources: Sequence[SourceResource] = ()
    records: bool = True
    closed: bool = False

    def dataset_names(self) -> tuple[str, ...]:
        """Datasets to write, in dictionary order."""
        order = [dataset.name for dataset in self.context.dictionary.datasets]
        unknown = sorted(set(self.datasets) - set(order))
        if unknown:
            raise OutputError(
                f"dataset(s) {', '.join(unknown)} are not in dictionary "
                f"{self.context.dictionary.id} {self.context.dictionary.version}"
            )
        return tuple(name for name in order if name in self.datasets)


@dataclass(frozen=True)
class PatientIndex:
    """Delivered patients: source ``patient_id`` -> delivered id, forms, and row subjects."""

    delivered_ids: Mapping[str, str]
    forms: Mapping[str, GeneralisedForms]
    row_patients: Mapping[str, list[str]]  # dataset -> patient_id of each row

    def ordered(self) -> list[tuple[str, str]]:
        """(delivered id, patient_id) sorted by delivered id: an order that reveals nothing."""
        return sorted((delivered, source) for source, delivered in self.delivered_ids.items())

    def ordered_columns(self) -> tuple[pa.Array, pa.Array]:
        """:meth:`ordered` as two Arrow columns (delivered ids, patient ids), sorted in Arrow.

        Delivered ids are unique (a keyed hash of the patient id), so sorting by
        them alone is :meth:`ordered`'s order; a million patients as Python
        tuples cost seconds and about 80 MB.
        """
        sources, delivered = self._id_columns
        order = pc.sort_indices(delivered)
        return delivered.take(order), sources.take(order)

    @cached_property
    def _id_columns(self) -> tuple[pa.Array, pa.Array]:
        """(patient ids, delivered ids) of :attr:`delivered_ids`, as two aligned Arrow columns."""
        sources = pa.array(list(self.delivered_ids), pa.string())
        return sources, pa.array(list(self.delivered_ids.values()), pa.string())

    def row_positions(self, dataset: str) -> pa.Array:
        """Per row of ``dataset``, where its patient is among the delivered patients.

        Why: the records' subjects were one dict lookup per record in Python, batch
        by batch (about a second of the output stage at a million records); taken
        from these positions (:meth:`subjects`) they are the same ids, in Arrow.
        """
        sources, _ = self._id_columns
        patients = pa.array(self.row_patients[dataset], pa.string())
        positions = pc.index_in(patients, value_set=sources)
        if positions.null_count:  # index_patients gives every row's patient an id
            raise KeyError(f"dataset {dataset}: a record's patient has no delivered id")
        return positions

    def subjects(self, positions: pa.Array) -> pa.Array:
        """The delivered ids at ``positions`` (from :meth:`row_positions`)."""
        _, delivered = self._id_columns
        return delivered.take(positions)


def row_patient_ids(dataset: ExtractedDataset) -> list[str]:
    """The ``patient_id`` of every row; OutputError names the row when it is missing."""
    if "patient_id" not in dataset.identity.column_names:
        raise OutputError(f"dataset {dataset.name}: identity table has no patient_id column")
    values: list[Any] = dataset.identity.column("patient_id").to_pylist()
    for index, value in enumerate(values):
        if value is None or value == "":
            raise OutputError(
                f"dataset {dataset.name}, row {_row_ref(dataset, index)}: no patient_id"
            )
    return [str(value) for value in values]


def _row_ref(dataset: ExtractedDataset, index: int) -> str:
    refs = dataset.row_refs
    return str(refs[index].as_py()) if len(refs) > index else f"#{index + 1}"


def _without_pseudonyms(
    pseudonyms: Mapping[str, PatientPseudonyms], patients: Iterable[str]
) -> int:
    """How many of ``patients`` have no pseudonym of any type."""
    if isinstance(pseudonyms, PseudonymTable):
        rows = pseudonyms.rows_of(pa.array(list(patients), pa.string()))
        if not pseudonyms.columns:
            return len(rows)
        # Validity taken per row, not the values: four string columns copied to count.
        present = [
            pc.fill_null(pc.is_valid(column.values).take(rows), False)
            for column in pseudonyms.columns
        ]
        any_present = present[0]
        for more in present[1:]:
            any_present = pc.or_(any_present, more)
        return len(rows) - pc.sum(any_present).as_py() if len(rows) else 0
    return sum(1 for patient in patients if not pseudonyms[patient].pseudonyms)


def _first_unknown_row(patients: list[str], ids: pa.Array, pseudonyms: Mapping[str, Any]) -> int:
    """Row of the first record whose patient has no pseudonyms, or -1."""
    if isinstance(pseudonyms, PseudonymTable):
        known = pc.is_in(ids, value_set=pseudonyms.patient_ids)
        if pc.all(known).as_py() is not False:
            return -1
        return int(pc.index(known, False).as_py())
    return next((row for row, p in enumerate(patients) if p not in pseudonyms), -1)


def _form_column(column: pa.ChunkedArray | pa.Array, kind: str) -> pa.Array:
    """One generalised form per row (null for none), computed once per distinct value."""
    distinct = pc.unique(column)
    mapped = pa.array([FORM_FUNCTIONS[kind](v) for v in distinct.to_pylist()], pa.string())
    # Every value is among the distinct ones (null too), so every row has a position.
    positions = pc.index_in(column, value_set=distinct)
    if isinstance(positions, pa.ChunkedArray):
        positions = positions.combine_chunks()
    return mapped.take(positions)


#: The forms of a :class:`GeneralisedForms`, in its constructor's order.
_FORM_KINDS = (BIRTH_YEAR, PC4, SEX)


def first_forms_reference(
    rows: Sequence[tuple[Sequence[str], Mapping[str, Sequence[str | None]]]],
) -> dict[str, GeneralisedForms]:
    """:func:`first_forms` row by row in Python (the loop ``index_patients`` had; tests)."""
    first_form: dict[str, dict[str, str]] = {kind: {} for kind in FORM_FUNCTIONS}
    with_forms: dict[str, None] = {}
    for patients, columns in rows:
        with_forms.update(dict.fromkeys(patients))
        for kind, values in columns.items():
            found = first_form[kind]
            for patient, value in zip(patients, values, strict=True):
                if value is not None and patient not in found:
                    found[patient] = value
    birth_years, pc4s, genders = (first_form[k] for k in _FORM_KINDS)
    shared: dict[tuple[str | None, ...], GeneralisedForms] = {}
    forms: dict[str, GeneralisedForms] = {}
    for patient in with_forms:
        key = (birth_years.get(patient), pc4s.get(patient), genders.get(patient))
        found_forms = shared.get(key)
        if found_forms is None:
            found_forms = shared[key] = GeneralisedForms(*key)
        forms[patient] = found_forms
    return forms


def first_forms(
    rows: Sequence[tuple[pa.Array, Mapping[str, pa.Array]]],
) -> dict[str, GeneralisedForms]:
    """Each patient's generalised forms: per form, its first value over ``rows``.

    ``rows``: per dataset that carries forms (in dictionary order), the patient of
    each row and, per form kind it carries, the form of each row (null for none).
    Every patient of those datasets gets forms (all None when none had a value);
    patients with the same forms share one object (memory), in order of first row.

    Why columns: the loop this replaces (:func:`first_forms_reference`, the same
    dict, pinned by tests) looked at every row and patient in Python, three
    dict look-ups each: a few tenths of a second per 200k patients.
    """
    if not rows:
        return {}
    patients = pa.concat_arrays([p for p, _ in rows])
    delivered = pc.unique(patients)  # in order of first row, as dict.fromkeys keeps them
    codes: list[np.ndarray] = []
    values: list[list[str | None]] = []
    for kind in _FORM_KINDS:
        forms = pa.concat_arrays(
            [
                columns[kind] if kind in columns else pa.nulls(len(p), pa.string())
                for p, columns in rows
            ]
        )
        valid = pc.is_valid(forms)
        # index_in finds a patient's first row among the rows with a value of this form.
        first = forms.filter(valid).take(pc.index_in(delivered, value_set=patients.filter(valid)))
        encoded = pc.dictionary_encode(first)
        values.append([None, *encoded.dictionary.to_pylist()])
        codes.append(pc.fill_null(pc.add(encoded.indices.cast(pa.int64()), 1), 0).to_numpy())
    sizes = [len(v) for v in values]
    key = (codes[0] * sizes[1] + codes[1]) * sizes[2] + codes[2]
    distinct, number = np.unique(key, return_inverse=True)
    shared = [
        GeneralisedForms(
            values[0][k // (sizes[1] * sizes[2])],
            values[1][k // sizes[2] % sizes[1]],
            values[2][k % sizes[2]],
        )
        for k in distinct.tolist()
    ]
    return dict(zip(delivered.to_pylist(), map(shared.__getitem__, number.tolist()), strict=True))


def index_patients(content: DeliveryInput) -> PatientIndex:
    """Resolve the delivered patients of ``content``.

    Raises :class:`OutputError` naming the dataset and row of a record whose
    patient has no pseudonyms (the pseudonymisation step must have handled
    every delivered patient, even when some types failed). A person's
    generalised forms are the first value of each form over the datasets in
    dictionary order and their rows in order; each distinct value is
    generalised once.
    """
    context = content.context
    pseudonyms = content.pseudonyms
    make_id = context.ids.make
    make_ids = context.ids.column
    generalised = generalised_variables(context.dictionary)
    kinds = generalised.kinds
    delivered: dict[str, str] = {}
    form_rows: list[tuple[pa.Array, dict[str, pa.Array]]] = []  # datasets that carry forms
    row_patients: dict[str, list[str]] = {}
    for name in content.dataset_names():
        dataset = content.datasets[name]
        patients = row_patient_ids(dataset)
        row_patients[name] = patients
        ids = dataset.identity.column("patient_id")
        missing = _first_unknown_row(patients, ids, pseudonyms)
        if missing >= 0:
            raise OutputError(
                f"dataset {name}, row {_row_ref(dataset, missing)}: the patient of this "
                "record has no pseudonyms; it cannot be delivered"
            )
        new = [p for p in pc.unique(ids).to_pylist() if p not in delivered]
        delivered.update(zip(new, make_ids(PATIENT_KIND, new).to_pylist(), strict=True))
        wanted = {
            kind: variable
            for kind, variable in generalised.by_dataset.get(name, {}).items()
            if variable in dataset.clinical.column_names
        }
        if wanted:
            form_rows.append(
                (
                    pa.array(patients, pa.string()),
                    {k: _form_column(dataset.clinical.column(v), k) for k, v in wanted.items()},
                )
            )
    forms = first_forms(form_rows)
    for patient, source in content.source_patients.items():
        if patient not in pseudonyms:
            raise OutputError("a source Patient has no pseudonyms; it cannot be delivered")
        delivered.setdefault(patient, make_id(PATIENT_KIND, patient))
        if kinds:
            from_source = forms_of_source_patient(source.resource, kinds)
            forms[patient] = forms.get(patient, NO_FORMS).merged(from_source)
    without = _without_pseudonyms(pseudonyms, delivered)
    if without:
        log.warning("%d delivered patient(s) have no pseudonym at all", without)
    return PatientIndex(delivered_ids=delivered, forms=forms, row_patients=row_patients)
