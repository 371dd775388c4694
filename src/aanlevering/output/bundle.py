"""FHIR Bundle delivery: collection Bundles of at most N entries, one file each.

Entries have ``urn:uuid:<id>`` fullUrls and every reference to a delivered
resource is written as that ``urn:uuid:``, so a Bundle resolves on its own.
A patient's Patient, dataset records and minimised resources travel in the
same Bundle; patients are packed whole until the next one would exceed N
entries. A patient with more than N entries is split over several Bundles,
each repeating the Patient entry (same id and fullUrl) so every Bundle's
subject references still resolve; references from one part of such a split
to a clinical resource in another part do not resolve inside the Bundle
(documented in docs/fhir-output.md). Files are ``Bundle-000001.json``, ...
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from aanlevering.errors import OutputError
from aanlevering.fhir.conventions import delivered_json
from aanlevering.fhir.patient import SECURITY_META
from aanlevering.fhir.validate import SamplePolicy, validate_resource
from aanlevering.output.content import DeliveryInput
from aanlevering.output.fhir_stream import Encoded, FhirStream
from aanlevering.output.files import FileSet
from aanlevering.output.result import OutputResult

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/fhir+json"
DEFAULT_MAX_ENTRIES = 1000


def _groups(stream: FhirStream) -> Iterator[list[Encoded]]:
    """Per delivered patient (in id order) its Patient, records and minimised resources."""
    minimised: dict[str, list[Encoded]] = {}
    orphans: list[Encoded] = []
    for item in stream.minimised():
        if item.patient is None:
            orphans.append(item)
        else:
            minimised.setdefault(item.patient, []).append(item)
    records = stream.records_by_patient() if stream.content.records else iter(())
    pending = next(records, None)
    for patient in stream.patients():
        group = [patient]
        while pending is not None and pending.patient == patient.id:
            group.append(pending)
            pending = next(records, None)
        group.extend(minimised.pop(patient.id, []))
        yield group
    if pending is not None:  # pragma: no cover - every record's patient is delivered
        raise OutputError("a dataset record refers to a Patient outside the delivery order")
    for item in orphans:
        yield [item]


def _packed(groups: Iterator[list[Encoded]], limit: int) -> Iterator[list[Encoded]]:
    current: list[Encoded] = []
    for group in groups:
        if len(group) > limit:
            if current:
                yield current
                current = []
            head, rest = group[0], group[1:]
            for start in range(0, len(rest), limit - 1):
                yield [head, *rest[start : start + limit - 1]]
        elif len(current) + len(group) > limit:
            yield current
            current = list(group)
        else:
            current.extend(group)
    if current:
        yield current


def bundle_text(bundle_id: str, entries: list[Encoded]) -> str:
    """JSON text of a collection Bundle of already-encoded resources."""
    head = delivered_json(
        {"resourceType": "Bundle", "id": bundle_id, "meta": SECURITY_META, "type": "collection"}
    )[:-1]
    body = ",".join(
        f'{{"fullUrl":"urn:uuid:{entry.id}","resource":{entry.text}}}' for entry in entries
    )
    return f'{head},"entry":[{body}]}}'


def write_bundles(
    folder: Path,
    content: DeliveryInput,
    policy: SamplePolicy | None = None,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> OutputResult:
    """Write the delivery as collection Bundles into ``folder``; all files appear or none.

    Raises :class:`aanlevering.errors.OutputError` as the NDJSON writer
    does, and for ``max_entries`` below 2 (a Patient and one record).
    """
    if max_entries < 2:
        raise OutputError("a Bundle must hold at least 2 entries (a Patient and a record)")
    chosen = policy or SamplePolicy()
    stream = FhirStream(content, chosen, "urn")
    ids = content.context.ids
    with FileSet(folder) as files:
        for number, entries in enumerate(_packed(_groups(stream), max_entries), start=1):
            name = f"Bundle-{number:06d}.json"
            text = bundle_text(ids.make("Bundle", str(number)), entries)
            if chosen.mode == "all" or number == 1:
                validate_resource(text, name)
            handle = files.file(name, MEDIA_TYPE)
            handle.write(text + "\n")
            handle.records = len(entries)
        written = files.commit()
    counts = {name: len(rows) for name, rows in stream.index.row_patients.items()}
    versions, profiles = stream.patient_builder.labels()
    log.info(
        "wrote %d FHIR Bundle(s) for %s: %d patients, %d records",
        len(written),
        content.context.registration_id,
        len(stream.index.delivered_ids),
        sum(counts.values()),
    )
    return OutputResult(
        format="fhir-bundle",
        files=written,
        record_counts=counts,
        patients=len(stream.index.delivered_ids),
        key_versions=versions,
        profiles=profiles,
    )
