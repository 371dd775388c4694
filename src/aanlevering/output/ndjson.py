"""FHIR NDJSON delivery: one file per resource type, one resource per line.

``Patient.ndjson`` (pseudonymised Patients, in delivered-id order),
``QuestionnaireResponse.ndjson`` (every dataset record, dataset by dataset in
row order) and one file per type of minimised source resource
(``Encounter.ndjson``, ...). Lines end with ``\\n``; the last line too. This is
the layout of a FHIR Bulk Data export, so registry holders can load it with
the same tools.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from aanlevering.fhir.validate import SamplePolicy
from aanlevering.fhir.validation_worker import BackgroundValidator, InlineValidator
from aanlevering.output.content import DeliveryInput
from aanlevering.output.fhir_stream import FhirStream, text_data
from aanlevering.output.files import FileSet
from aanlevering.output.result import BuiltValues, OutputResult
from aanlevering.output.source_parts import SecondPart, split_at
from aanlevering.output.sources import SourceTexts

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/fhir+ndjson"
#: Minimised source resources joined into one write.
_SOURCE_LINES = 4_096
#: Records from which the sampled resources are validated by a second process (decision
#: 0307); below it the process's start (about 0.2 s) costs more than it saves.
BACKGROUND_VALIDATION_ROWS = 20_000


def write_ndjson(
    folder: Path, content: DeliveryInput, policy: SamplePolicy | None = None
) -> OutputResult:
    """Write the delivery as FHIR NDJSON into ``folder``; all files appear or none.

    Raises :class:`aanlevering.errors.OutputError` (a value FHIR cannot
    carry, an invalid resource, a record without pseudonyms) and
    :class:`aanlevering.errors.PseudonymisationError` (an unapproved type).
    """
    built = BuiltValues()
    rows = sum(dataset.num_rows for dataset in content.datasets.values())
    # Started first: the child's imports overlap with indexing the patients (decision 0307).
    # A small delivery validates inline: its few resources cost less than starting the child.
    validator = BackgroundValidator() if rows >= BACKGROUND_VALIDATION_ROWS else InlineValidator()
    with validator:
        stream = FhirStream(content, policy or SamplePolicy(), "relative", built, validator)
        counts: dict[str, int] = {}
        with FileSet(folder) as files:
            try:
                _write_resources(files, stream, content, counts)
            except Exception:
                # Inline validation would have stopped at an invalid resource handed over
                # before this error: that one is the delivery's error, as it was.
                earlier = validator.first_failure()
                if earlier is not None:
                    raise earlier from None
                raise
            validator.finish()  # before any file is committed: nothing unvalidated appears
            written = files.commit()
    versions, profiles = stream.patient_builder.labels()
    log.info(
        "wrote FHIR NDJSON for %s: %d patients, %d records, %d files",
        content.context.registration_id,
        len(stream.index.delivered_ids),
        sum(counts.values()),
        len(written),
    )
    return OutputResult(
        format="fhir-ndjson",
        files=written,
        record_counts=counts,
        patients=len(stream.index.delivered_ids),
        key_versions=versions,
        profiles=profiles,
        built=built.columns(),
    )


def _write_resources(
    files: FileSet, stream: FhirStream, content: DeliveryInput, counts: dict[str, int]
) -> None:
    """Patients, records and minimised source resources into their files; ``counts`` per dataset."""
    patients = files.file("Patient.ndjson", MEDIA_TYPE)
    for delivered, lines in stream.patient_texts(end="\n"):
        patients.write_bytes(text_data(lines))
        patients.records += len(delivered)
    records = files.file("QuestionnaireResponse.ndjson", MEDIA_TYPE) if content.records else None
    for dataset in stream.index.row_patients:
        counts[dataset] = len(stream.index.row_patients[dataset])
        if records is None:
            continue  # delivery.fhir_content resources: the records travel as resources
        counts[dataset] = 0
        for records_batch in stream.record_batches(dataset, end="\n"):
            records.write_bytes(records_batch.data())
            records.records += len(records_batch.ids)
            counts[dataset] += len(records_batch.ids)
    # Source resources are written a few thousand lines at a time: one write (one
    # hand-over to the writer thread) per resource cost more than minimising it.
    # A large delivery's second part is minimised by a worker process (decision 0318).
    sources = content.source_resources
    second = None
    if isinstance(sources, SourceTexts) and (at := split_at(sources)):
        second = SecondPart(sources, at)
    with second if second is not None else contextlib.nullcontext():
        pending: dict[str, list[str]] = {}  # by resource type
        for resource_type, text in stream.minimised_texts(second):
            lines = pending.get(resource_type)
            if lines is None:
                lines = pending[resource_type] = []
            lines.append(text)
            if len(lines) >= _SOURCE_LINES:
                _write_lines(files, f"{resource_type}.ndjson", lines)
                pending[resource_type] = []
        for resource_type, lines in pending.items():
            _write_lines(files, f"{resource_type}.ndjson", lines)
        if second is not None and second.answer is not None:
            # The worker's lines of each type follow this process's: source order.
            for resource_type, count, chunks in second.files(second.answer):
                handle = files.file(f"{resource_type}.ndjson", MEDIA_TYPE)
                for chunk in chunks:
                    handle.write_bytes(chunk)
                handle.records += count


def _write_lines(files: FileSet, name: str, lines: list[str]) -> None:
    """Append ``lines`` (each followed by a newline) to the file ``name``.

    Their leaves were noted by the stream for the output guard (decision 0304).
    """
    if not lines:
        return
    handle = files.file(name, MEDIA_TYPE)
    handle.write("\n".join(lines) + "\n")
    handle.records += len(lines)
