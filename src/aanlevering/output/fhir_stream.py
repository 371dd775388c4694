"""The resources of a FHIR delivery as JSON text, streamed in batches.

Both FHIR formats (NDJSON and Bundles) are written from these streams:
Patients in delivered-id order, dataset records batch by batch (in row order,
or merged in patient order for Bundles), and the minimised source resources.
Resources selected by the sample policy are validated with the R4B models
before they are handed on.

Dataset records stay in Arrow until they are written: a batch of records is
one string array whose data buffer is already the NDJSON text.
"""

from __future__ import annotations

import heapq
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from json.encoder import encode_basestring
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import OutputError
from aanlevering.fhir.conventions import delivered_json
from aanlevering.fhir.generalised import NO_FORMS, GeneralisedForms
from aanlevering.fhir.minimise import (
    PATIENT_ELEMENTS,
    PLAIN_KEY,
    PartReferenceMap,
    ReferenceMap,
    ReferenceStyle,
    TextMinimiser,
    minimise_resource,
    render,
)
from aanlevering.fhir.patient import PatientBuilder
from aanlevering.fhir.patient_columns import form_texts, patient_texts
from aanlevering.fhir.validate import SamplePolicy
from aanlevering.fhir.validation_worker import InlineValidator, Validator
from aanlevering.output.content import (
    DeliveryInput,
    PatientIndex,
    SourceResource,
    index_patients,
)
from aanlevering.output.fhir_records import RESOURCE_TYPE, Note, RecordEncoder
from aanlevering.output.part_references import part_map
from aanlevering.output.result import BuiltValues
from aanlevering.output.source_notes import SourceNotes
from aanlevering.output.source_parts import SecondPart
from aanlevering.output.sources import SourceTexts
from aanlevering.pseudonym.model import PseudonymTable

log = logging.getLogger(__name__)

BATCH_ROWS = 8_192
#: A key ``add_keys`` takes: a type and an id either side of the first slash.
_WELL_FORMED_KEY = r"(?s)^[^/]+/."


def text_data(lines: pa.Array) -> memoryview:
    """The strings of ``lines`` back to back, as UTF-8 bytes (no copy)."""
    if len(lines) == 0:
        return memoryview(b"")
    _, offsets_buffer, data_buffer = lines.buffers()
    offsets = memoryview(offsets_buffer).cast("q" if pa.types.is_large_string(lines.type) else "i")
    start = lines.offset
    return memoryview(data_buffer)[offsets[start] : offsets[start + len(lines)]]


@dataclass(frozen=True)
class Encoded:
    """One delivered resource: its type, delivered id, Patient (delivered id) and JSON text."""

    resource_type: str
    id: str
    patient: str | None
    text: str


@dataclass(frozen=True)
class RecordBatch:
    """Encoded records of one dataset: ids, delivered Patient ids and JSON text per record."""

    dataset: str
    ids: pa.Array
    patients: pa.Array
    lines: pa.Array

    def data(self) -> memoryview:
        """The text of every record back to back, as UTF-8 bytes (no copy)."""
        return text_data(self.lines)

    def encoded(self) -> list[Encoded]:
        """The records as separate resources (for Bundles)."""
        ids: list[str] = self.ids.to_pylist()
        patients: list[str] = self.patients.to_pylist()
        texts: list[str] = self.lines.to_pylist()
        return [
            Encoded(RESOURCE_TYPE, record_id, patient, text)
            for record_id, patient, text in zip(ids, patients, texts, strict=True)
        ]


class FhirStream:
    """Produces the resources of one delivery; one instance per written delivery."""

    def __init__(
        self,
        content: DeliveryInput,
        policy: SamplePolicy,
        style: ReferenceStyle,
        built: BuiltValues | None = None,
        validator: Validator | None = None,
    ) -> None:
        """``built``: told the value literals of Patient and record texts (decision 0300).

        ``validator``: where the resources the policy selects are validated (by
        default at once, on this thread; see :mod:`aanlevering.fhir.validation_worker`).
        """
        self.content = content
        self.built = built
        self.validator: Validator = validator if validator is not None else InlineValidator()
        self.policy = policy
        self.style = style
        self.index: PatientIndex = index_patients(content)
        self.patient_builder = PatientBuilder(content.context)
        self._counters: dict[str, int] = {}
        self._references: ReferenceMap | None = None
        if not self._deferrable():
            self._references = self._whole_map()  # its errors now, before anything is made

    @property
    def references(self) -> ReferenceMap:
        """The whole delivery's reference map, made when first asked for.

        A delivery minimised in two processes never makes it: each process holds
        only the entries its half looks up (decision 0330).
        """
        if self._references is None:
            self._references = self._whole_map()
        return self._references

    def _whole_map(self) -> ReferenceMap:
        content = self.content
        references = ReferenceMap(content.context.ids, closed=content.closed)
        if content.source_resources:
            # FHIR sources: the extract's patient_id is the source Patient.id.
            for patient, delivered in self.index.delivered_ids.items():
                references.add_patient([f"Patient/{patient}"], delivered)
        for patient, source in content.source_patients.items():
            aliases = [f"Patient/{source.resource.get('id')}"]
            if source.full_url:
                aliases.append(source.full_url)
            references.add_patient(aliases, self.index.delivered_ids[patient])
        sources = content.source_resources
        if isinstance(sources, SourceTexts):  # registered by key, never all decoded at once
            references.add_keys(sources.keys())
        else:
            for source in sources:
                references.add(source.resource, source.full_url)
        return references

    def _deferrable(self) -> bool:
        """Whether the whole map may wait: kept texts whose keys it would take without an
        error, and Patients whose targets :meth:`patient_targets` gives exactly."""
        content = self.content
        sources = content.source_resources
        if not isinstance(sources, SourceTexts) or content.source_patients or not len(sources):
            return False
        keys, _, _, _ = sources.parts()
        if not pc.all(pc.match_substring_regex(keys, _WELL_FORMED_KEY)).as_py():
            return False  # add_keys says which resource has no id
        references = self._patient_references()
        return bool(
            pc.all(pc.match_substring_regex(references, PLAIN_KEY)).as_py()
            and not pc.any(pc.match_substring(references, "_history")).as_py()
        )

    def _patient_references(self) -> pa.Array:
        patients = pa.array(list(self.index.delivered_ids), pa.string())
        return pc.binary_join_element_wise("Patient/", patients, "")

    def patient_targets(self) -> pa.Table:
        """The whole map's :meth:`ReferenceMap.targets` without making the map: the
        Patients' references (each its own key, as :meth:`_deferrable` checked)."""
        if self._references is not None:
            return self._references.targets()
        references = self._patient_references()
        return pa.table(
            {
                "reference": references,
                "type": pa.repeat("Patient", len(references)).cast(pa.string()),
                "id": pa.array(list(self.index.delivered_ids.values()), pa.string()),
            }
        )

    def _sampled(self, resource_type: str, count: int) -> list[int]:
        """Positions (within the next ``count`` of this type) the policy validates."""
        start = self._counters.get(resource_type, 0)
        self._counters[resource_type] = start + count
        return self.policy.positions(start, count)

    def subject(self, delivered_id: str) -> str:
        """Reference text to a delivered Patient in this stream's style."""
        return render("Patient", delivered_id, self.style)

    def patient_texts(self, end: str = "") -> Iterator[tuple[list[str], pa.Array]]:
        """Delivered ids and Patient texts (each followed by ``end``), a batch at a time.

        In delivered-id order.

        From a :class:`PseudonymTable` the texts are joined in Arrow per batch
        (:mod:`aanlevering.fhir.patient_columns`); from any other mapping, one
        person at a time. Both give the same text.
        """
        pseudonyms = self.content.pseudonyms
        forms = self.index.forms
        all_delivered, all_sources = self.index.ordered_columns()
        builder = self.patient_builder
        if isinstance(pseudonyms, PseudonymTable):
            # Once: each lookup hashes the whole table's patient ids (116 times at 1M).
            all_rows = pseudonyms.rows_of(all_sources)
            numbers, distinct = form_numbers(forms, all_sources)
            distinct_texts = form_texts(distinct)
        for start in range(0, len(all_delivered), BATCH_ROWS):
            batch_delivered = all_delivered.slice(start, BATCH_ROWS)
            delivered: list[str] = batch_delivered.to_pylist()
            if isinstance(pseudonyms, PseudonymTable):
                batch_numbers = numbers.slice(start, BATCH_ROWS)
                texts = patient_texts(
                    builder,
                    pseudonyms,
                    all_rows.slice(start, BATCH_ROWS),
                    batch_delivered,
                    distinct_texts.take(batch_numbers),
                    end=end,
                )
                batch_forms = [distinct[n] for n in pc.unique(batch_numbers).to_pylist()]
            else:
                patients: list[str] = all_sources.slice(start, BATCH_ROWS).to_pylist()
                batch_forms = [forms.get(p, NO_FORMS) for p in patients]
                texts = pa.array(
                    [
                        builder.text(pseudonyms[p], f, d) + end
                        for d, p, f in zip(delivered, patients, batch_forms, strict=True)
                    ],
                    pa.string(),
                )
            if self.built is not None:
                self._note_forms(batch_forms)
            for k in self._sampled("Patient", len(delivered)):
                text = texts[k].as_py()
                self.validator.check(text[: len(text) - len(end)], f"Patient #{start + k + 1}")
            yield delivered, texts

    def _note_forms(self, forms: Sequence[GeneralisedForms]) -> None:
        """The generalised forms a batch of Patients carries, as JSON literals, by element."""
        assert self.built is not None
        for column, values in (
            ("Patient.gender", {f.gender for f in forms}),
            ("Patient.birthDate", {f.birth_year for f in forms}),
            ("Patient.address.postalCode", {f.pc4 for f in forms}),
        ):
            literals = [encode_basestring(v) for v in values if v is not None]
            self.built.add("Patient.ndjson", column, pa.array(literals, pa.string()))

    def patient_batches(self) -> Iterator[list[Encoded]]:
        """Every delivered Patient, in delivered-id order, a batch at a time."""
        for delivered, texts in self.patient_texts():
            yield [
                Encoded("Patient", d, d, text)
                for d, text in zip(delivered, texts.to_pylist(), strict=True)
            ]

    def patients(self) -> Iterator[Encoded]:
        """Every delivered Patient, in delivered-id order."""
        for batch in self.patient_batches():
            yield from batch

    def record_batches(self, dataset: str, end: str = "") -> Iterator[RecordBatch]:
        """The records of ``dataset`` in row order; ``end`` follows each record's text."""
        yield from self._batches(dataset, None, end)

    def records_by_patient(self) -> Iterator[Encoded]:
        """Every record of every dataset, ordered by delivered Patient id (stable within)."""
        streams = []
        for position, dataset in enumerate(self.index.row_patients):
            subjects = [self.index.delivered_ids[p] for p in self.index.row_patients[dataset]]
            order = pc.sort_indices(pa.array(subjects, pa.string()))
            streams.append(self._keyed(position, self._batches(dataset, order, "")))
        for _, _, item in heapq.merge(*streams, key=lambda entry: (entry[0], entry[1])):
            yield item

    @staticmethod
    def _keyed(position: int, batches: Iterator[RecordBatch]) -> Iterator[tuple[str, int, Encoded]]:
        for batch in batches:
            for item in batch.encoded():
                yield (item.patient or "", position, item)

    def _batches(self, dataset: str, order: pa.Array | None, end: str) -> Iterator[RecordBatch]:
        extracted = self.content.datasets[dataset]
        context = self.content.context
        encoder = RecordEncoder(context, context.dictionary.dataset(dataset))
        make_ids = context.ids.column
        reference_prefix = self.subject("")  # "Patient/" or "urn:uuid:"
        index = self.index
        positions_of_rows = index.row_positions(dataset)  # of each row's patient, in Arrow
        refs = extracted.row_refs  # taken per batch: a million Python strings cost ~80 MB
        # Text without nulls is its own str(): no Python pass over each batch's refs.
        plain_refs = not refs.null_count and (
            pa.types.is_string(refs.type) or pa.types.is_large_string(refs.type)
        )
        note: Note | None = None
        if self.built is not None:
            built = self.built

            def note(column: str, literals: pa.Array) -> None:
                built.add(f"{RESOURCE_TYPE}.ndjson", column, literals)

        rows = extracted.num_rows
        for start in range(0, rows, BATCH_ROWS):
            if order is None:
                count = min(BATCH_ROWS, rows - start)
                table = extracted.clinical.slice(start, count)
                batch_refs: list[Any] = refs.slice(start, count).to_pylist()
                subjects = index.subjects(positions_of_rows.slice(start, count))
            else:
                taken = order.slice(start, BATCH_ROWS)
                table = extracted.clinical.take(taken)
                batch_refs = refs.take(taken).to_pylist()
                subjects = index.subjects(positions_of_rows.take(taken))
            row_refs = batch_refs if plain_refs else [str(ref) for ref in batch_refs]
            record_ids = make_ids(encoder.kind, row_refs)
            references = pc.binary_join_element_wise(reference_prefix, subjects, "")
            lines = encoder.encode(table, record_ids, references, row_refs, end, note=note)
            for k in self._sampled(RESOURCE_TYPE, len(row_refs)):
                self.validator.check(lines[k].as_py(), f"dataset {dataset}, row {row_refs[k]}")
            yield RecordBatch(dataset, record_ids, subjects, lines)

    def _selected(self, resource_type: str) -> bool:
        """Whether the policy validates the next resource of ``resource_type`` (one at a time)."""
        index = self._counters.get(resource_type, 0)
        self._counters[resource_type] = index + 1
        return self.policy.selects(index)

    def minimised(self) -> Iterator[Encoded]:
        """The minimised source resources, in source order, with the Patient each is about."""
        for resource_type, delivered_id, patient, text in self._minimised(patients=True):
            yield Encoded(resource_type, delivered_id, patient, text)

    def minimised_texts(self, second: SecondPart | None = None) -> Iterator[tuple[str, str]]:
        """(resource type, text) of each minimised source resource, in source order.

        What NDJSON needs: no Patient per resource (only Bundles group by it) and no
        :class:`Encoded` (5M of each at a million patients). With ``second``, only the
        first part's: the worker makes the second part's files (decision 0318), and
        ``second.answer`` holds them once the last text of the first part is handed on
        (None when this process minimised the second part too, and yielded it).
        """
        for resource_type, _, _, text in self._minimised(patients=False, second=second):
            yield resource_type, text

    def _minimised(
        self, patients: bool, second: SecondPart | None = None
    ) -> Iterator[tuple[str, str, str | None, str]]:
        """(type, delivered id, Patient or None, text) of each minimised source resource.

        With ``built``, the leaves of every resource are noted for the output guard
        (decision 0304) once the last resource has been handed on.
        """
        notes = SourceNotes(self.built) if self.built is not None else None
        patient_refs = (
            {self.subject(d): d for d in self.index.delivered_ids.values()} if patients else None
        )
        sources = self.content.source_resources
        if isinstance(sources, SourceTexts):
            yield from self._from_texts(sources, notes, patient_refs, second)
        else:
            yield from self._from_resources(sources, notes, patient_refs)
        if notes is not None:
            notes.close()

    def _from_texts(
        self,
        sources: SourceTexts,
        notes: SourceNotes | None,
        patient_refs: dict[str, str] | None,
        second: SecondPart | None = None,
    ) -> Iterator[tuple[str, str, str | None, str]]:
        """Straight from the extract's texts, remembering repeated elements (the same bytes
        as minimise_resource and dumps; see TextMinimiser); the second part in a worker."""
        note = notes.element if notes is not None else None
        if second is None:
            minimiser = TextMinimiser(self.references, self.style, note)
            # Every key is a member of the whole map (add_keys): its ids made a batch at a time.
            own_ids = sources.keyed_ids(self.content.context.ids)
            yield from self._texts_minimised(
                sources.texts(), minimiser, notes, patient_refs, own_ids=own_ids
            )
            return
        # The worker counts each type on from this process's counts at the cut.
        expected = dict(self._counters)
        for resource_type, count in second.first_counts().items():
            expected[resource_type] = expected.get(resource_type, 0) + count
        targets = self.patient_targets()
        if self._references is None:
            # Neither process makes the whole map (decision 0330): this one holds what its
            # half looks up, and the rest of the map only if a lookup was not foreseen.
            keys, _, _, _ = sources.parts()

            def complete(part: PartReferenceMap) -> None:
                part.add_keys(sources.keys())
                part.add_targets(targets)

            references: ReferenceMap = part_map(
                self.content.context.ids,
                closed=self.content.closed,
                keys=[keys],
                targets=targets.to_batches(),
                texts=second.first().windows(),
                complete=complete,
            )
        else:
            references = self.references
        minimiser = TextMinimiser(references, self.style, note)
        changes = references.changes
        second.start(
            targets=targets,
            closed=self.content.closed,
            ids=self.content.context.ids,
            style=self.style,
            counters=expected,
            policy=self.policy,
            notes=notes is not None,
        )
        first = second.first().texts()
        started, cpu = time.perf_counter(), time.process_time()
        # Each key named to a part map as its text is minimised; a whole map holds them all.
        own_ids = second.first().keyed_ids(self.content.context.ids)
        yield from self._texts_minimised(first, minimiser, notes, patient_refs, own_ids=own_ids)
        own_time, own_cpu = time.perf_counter() - started, time.process_time() - cpu
        if self._counters != expected or references.changes != changes:
            # Odd input (a text that is not its key's resource): the worker's counts or map
            # are not this process's at the cut, so the second part is minimised here.
            second.stop()
            rest = second.second().texts()
            yield from self._texts_minimised(rest, minimiser, notes, patient_refs)
            return
        at = time.perf_counter()
        answer = second.result()
        log.info(
            "minimised %d source resources in 2 processes: this process's part %.1f s "
            "(CPU %.1f s), then waiting for the worker %.1f s (the worker's CPU %.1f s, "
            "peak %.0f MiB; this process %.0f MiB)",
            len(sources),
            own_time,
            own_cpu,
            time.perf_counter() - at,
            answer.cpu,
            answer.peak_mib,
            _rss_mib(),
        )
        if answer.unsure:
            # Its map met a lookup it could not answer exactly (decision 0330): odd input,
            # so the second part is minimised here, as in one process.
            log.info("the worker's reference map was unsure: the second part is minimised here")
            rest = second.second().texts()
            yield from self._texts_minimised(rest, minimiser, notes, patient_refs)
            return
        for text, where in answer.selected:
            self.validator.check(text, where)
        if answer.error is not None:
            kind, message = answer.error
            if kind == "OutputError":
                raise OutputError(message)
            raise OutputError(
                f"minimising source resources {second.at + 1}-{len(sources)} failed in "
                f"its worker process ({kind})"
            )
        if notes is not None:
            notes.merge(answer.types, answer.texts)
        self._counters = dict(answer.counters)
        second.answer = answer

    def _texts_minimised(
        self,
        texts: Iterator[str],
        minimiser: TextMinimiser,
        notes: SourceNotes | None,
        patient_refs: dict[str, str] | None,
        own_ids: Iterator[tuple[str, str]] | None = None,
    ) -> Iterator[tuple[str, str, str | None, str]]:
        """``own_ids``: each text's key and the delivered id it hashes to
        (:meth:`SourceTexts.keyed_ids`, decision 0510), handed to the minimiser; the key is
        named to a :class:`PartReferenceMap` as its text is minimised. Without: the rest of
        a part minimised here after all (the map answers as the whole map)."""
        patient = None
        references = minimiser.references
        part = references if isinstance(references, PartReferenceMap) else None
        keyed: Iterator[tuple[str | None, str | None]] = (
            own_ids if own_ids is not None else repeat((None, None))
        )
        # As _selected and notes.resource per resource, without their calls (5M at 1M patients).
        counters, selects = self._counters, self.policy.selects
        noted: set[str] = set()
        for source_text, (key, own_id) in zip(texts, keyed, strict=own_ids is not None):
            if part is not None and key is not None:
                part.current = key
            item = minimiser.minimised(source_text, key, own_id)
            resource_type = item.resource_type
            if notes is not None and resource_type not in noted:
                notes.resource(resource_type)
                noted.add(resource_type)
            index = counters.get(resource_type, 0)
            counters[resource_type] = index + 1
            if selects(index):
                self.validator.check(item.text, f"{resource_type} {item.id}")
            if patient_refs is not None:
                patient = _patient_of(item.patient_elements, patient_refs)
            yield item.resource_type, item.id, patient, item.text

    def _from_resources(
        self,
        sources: Sequence[SourceResource],
        notes: SourceNotes | None,
        patient_refs: dict[str, str] | None,
    ) -> Iterator[tuple[str, str, str | None, str]]:
        """Decoded resources (tests, callers outside the pipeline), one by one."""
        patient = None
        for source in sources:
            resource = minimise_resource(source.resource, self.references, self.style)
            text = delivered_json(resource)
            resource_type = str(resource["resourceType"])
            if notes is not None:
                notes.resource(resource_type)
                for key, value in resource.items():
                    if key not in _HEADER:
                        notes.element(resource_type, key, value)
            if self._selected(resource_type):
                self.validator.check(text, f"{resource_type} {resource['id']}")
            if patient_refs is not None:
                patient = _patient_of(resource, patient_refs)
            yield resource_type, str(resource["id"]), patient, text


def form_numbers(
    forms: Mapping[str, GeneralisedForms], patients: pa.Array
) -> tuple[pa.Array, list[GeneralisedForms]]:
    """The number of each patient's forms among the distinct ones (0: :data:`NO_FORMS`).

    Why: the index gives patients with equal forms one object, so numbering
    the objects numbers the forms; the Patients then take their form text by
    number (:func:`form_texts`) instead of three escaped values per person.
    """
    distinct: list[GeneralisedForms] = [NO_FORMS]
    numbering: dict[int, int] = {id(NO_FORMS): 0}
    numbers: list[int] = []
    for form in forms.values():
        number = numbering.get(id(form))
        if number is None:
            number = numbering[id(form)] = len(distinct)
            distinct.append(form)
        numbers.append(number)
    positions = pc.index_in(patients, value_set=pa.array(list(forms), pa.string()))
    per_patient = pc.fill_null(pa.array(numbers, pa.int32()).take(positions), 0)
    return per_patient, distinct


#: The members every minimised resource starts with: ours (the guard skips them).
_HEADER = frozenset({"resourceType", "id", "meta"})


def _patient_of(resource: dict[str, Any], patient_refs: dict[str, str]) -> str | None:
    """The delivered Patient a minimised resource is about (subject, patient, ...)."""
    for key in PATIENT_ELEMENTS:
        value = resource.get(key)
        if isinstance(value, dict):
            found = patient_refs.get(str(value.get("reference")))
            if found:
                return found
    return None


def _rss_mib() -> float:
    """This process's resident memory now, in MiB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0
