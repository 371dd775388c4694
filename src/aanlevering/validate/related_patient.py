"""Related records whose parent record belongs to another patient, as a report finding.

A related dataset's record (a complication) names its parent record (the
operation) by a relation variable (``operatie_id``) and its patient by its own
identity fields. When the parent found is another patient's, one of the two is
wrong in the source: a complication attached to the wrong operation, or, for
every record at once, a relation mapped to the wrong column. The registry
holder would receive a complication of one (pseudonymised) patient linked to
the operation of another, so it is a **warning** check, as the FHIR reader's
linked resources of another patient are (decision 0570), and the registration's
``block_on`` decides (decision 0572). Each record keeps its own patient: it is
delivered as its own source says, under its own pseudonyms, so an opted-out
patient's record is still left out by the opt-out filter and nothing of one
patient is delivered as another's.

Patients are compared by the identity field both datasets have (``patient_id``,
else ``bsn``), as the source writes it; records without either, or whose parent
is not in the extract (an orphan, reported already), are not compared. The
report names the related records by row reference, never a value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import DataDictionary, Relation
from aanlevering.extract.model import ExtractedDataset
from aanlevering.validate.results import CheckResult

#: Identity fields that name a patient, in the order they are compared by.
PATIENT_FIELDS = ("patient_id", "bsn")

DESCRIPTION = (
    "A related record and the record it refers to (by {variable} -> {parent}.{target}) "
    "belong to the same patient; a mismatch means one of them, or the mapping of "
    "{variable}, is wrong in the source (decision 0572)."
)


def mismatched_rows(
    child: ExtractedDataset, parent: ExtractedDataset, relation: Relation
) -> np.ndarray:
    """Positions of ``child``'s records whose parent (through ``relation``) is another patient's."""
    shared = [
        name
        for name in PATIENT_FIELDS
        if name in child.identity.column_names and name in parent.identity.column_names
    ]
    if not shared or child.num_rows == 0 or parent.num_rows == 0:
        return np.zeros(0, dtype=np.int64)
    name = shared[0]
    links = child.clinical.column(relation.variable)
    targets = parent.clinical.column(relation.target_variable)
    if links.type != targets.type:  # compared as text: a cast of the values could fail
        links, targets = pc.cast(links, pa.string()), pc.cast(targets, pa.string())
    at = pc.index_in(links, value_set=targets.combine_chunks())
    found = pc.is_valid(at)
    parent_patient = pc.take(_stripped(parent.identity.column(name)), pc.fill_null(at, 0))
    own_patient = _stripped(child.identity.column(name))
    compared = pc.and_(found, pc.and_(pc.is_valid(own_patient), pc.is_valid(parent_patient)))
    differs = pc.and_(compared, pc.not_equal(own_patient, parent_patient))
    mask = np.asarray(pc.fill_null(differs, False).to_numpy(zero_copy_only=False), dtype=bool)
    return np.flatnonzero(mask)


def _stripped(values: pa.ChunkedArray) -> pa.Array:
    """The field as the source writes it, blank as missing."""
    text = pc.utf8_trim_whitespace(pc.cast(values.combine_chunks(), pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def related_patient_results(
    dictionary: DataDictionary, datasets: Sequence[ExtractedDataset], limit: int
) -> list[CheckResult]:
    """One failed warning per relation whose records name another patient than their parent's."""
    by_name = {dataset.name: dataset for dataset in datasets}
    results = []
    for child in datasets:
        for relation in dictionary.dataset(child.name).relations:
            parent = by_name.get(relation.dataset)
            if parent is None:
                continue
            rows = mismatched_rows(child, parent, relation)
            if not len(rows):
                continue
            refs = tuple(child.row_refs.take(pa.array(rows[:limit])).to_pylist())
            results.append(
                CheckResult(
                    rule_id=f"{child.name}.{relation.variable}.patient",
                    dataset=child.name,
                    kind="linkage",
                    severity="warning",
                    description=DESCRIPTION.format(
                        variable=relation.variable,
                        parent=relation.dataset,
                        target=relation.target_variable,
                    ),
                    variables=(relation.variable,),
                    expectation_type="related_record_has_the_parent_records_patient",
                    engine="extract",
                    success=False,
                    element_count=child.num_rows,
                    unexpected_count=len(rows),
                    unexpected_percent=100.0 * len(rows) / child.num_rows,
                    failing_row_refs=refs,
                )
            )
    return results
