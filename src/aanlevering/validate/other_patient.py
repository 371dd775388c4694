"""Linked resources of another patient, left out by the FHIR extract, as a report finding.

The extract never reads nor delivers a resource linked to a record (through
``encounter``, ``focus``, ``partOf``) that names another patient than the
record's (decision 0570): the record is delivered without that value. That is
a data finding the hospital must fix in its EHR and the registry holder must
know of, so it is a **warning** check (the registration's ``block_on``
decides, as for every warning):

* the registry holder's report gets, per dataset with such resources, the
  number of records concerned (their row references, which name only this
  delivery's records, so a file name identifying a patient is withheld as for
  any check, decision 0375) and the number of resources left out in the note;
  never where those resources are: their file may be named after the other
  patient, who may have opted out and so is in no identity table to withhold by;
* the hospital's own report gets each (record, resource location) pair.

A clean extract adds no check, so a report without the finding reads as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aanlevering.extract.model import ExtractedDataset
from aanlevering.validate.results import CheckResult

#: The report's (and the validation event's) count of resources left out.
COUNT_KEY = "linked_resources_of_another_patient"
#: The hospital report's section with the pairs.
SECTION = "linked_resources_of_another_patient"


DESCRIPTION = (
    "Resources linked to a record (its encounter's, or pointing at it through focus or "
    "partOf) name the record's own patient; one naming another patient is left out: "
    "neither read nor delivered (decision 0570)."
)


def other_patient_results(datasets: Sequence[ExtractedDataset], limit: int) -> list[CheckResult]:
    """One failed warning per dataset whose records had another patient's resources left out."""
    results = []
    for dataset in datasets:
        if not dataset.other_patient_links:
            continue
        records = tuple(dict.fromkeys(record for record, _ in dataset.other_patient_links))
        resources = len(dataset.other_patient_resources)
        rows = dataset.num_rows
        results.append(
            CheckResult(
                rule_id=f"{dataset.name}.linked_resources.patient",
                dataset=dataset.name,
                kind="linkage",
                severity="warning",
                description=DESCRIPTION,
                variables=(),
                expectation_type="linked_resources_name_the_record_patient",
                engine="extract",
                success=False,
                element_count=rows,
                unexpected_count=len(records),
                unexpected_percent=100.0 * len(records) / rows if rows else 0.0,
                failing_row_refs=records[:limit],
                note=f"{resources} linked resource(s) of another patient left out",
            )
        )
    return results


def left_out(datasets: Sequence[ExtractedDataset]) -> int:
    """Linked resources of another patient left out, over every dataset."""
    return sum(len(dataset.other_patient_resources) for dataset in datasets)


def hospital_section(datasets: Sequence[ExtractedDataset]) -> dict[str, Any]:
    """The hospital's view: per dataset the (record, resource location) pairs, no values."""
    return {
        dataset.name: [list(pair) for pair in dataset.other_patient_links]
        for dataset in datasets
        if dataset.other_patient_links
    }
