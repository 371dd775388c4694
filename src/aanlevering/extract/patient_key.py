"""The one key of a patient across the product: the hospital's own patient number (MRN).

Opt-outs, failure references, delivery contents and ``optout deliveries`` all
hash this number, so they match one another. Per dataset: the ``mrn`` identity
field when the export carries MRNs (a CSV column mapped to ``mrn``; in FHIR
the identifier of ``source.fhir.mrn_system`` or the one typed ``MR``), else the
``patient_id`` (the CSV patient number column; in FHIR, ``Patient.id``, which
is then said in a log line, since a FHIR server's id is often not the MRN).

A dataset in which some records have an MRN and others not is refused: the
others would be keyed by something else and slip past their opt-outs. The
error names the records by ``file:line`` (or resource location), never a value.
"""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.arrow_counts import count_true
from aanlevering.errors import ExtractError
from aanlevering.extract.model import ExtractedDataset

log = logging.getLogger(__name__)

#: Records named in the error before "and N more".
MAX_NAMED = 10


def patient_numbers(dataset: ExtractedDataset, source_kind: str = "csv") -> pa.Array:
    """The hospital patient number of every record of ``dataset`` (see the module docstring)."""
    identity = dataset.identity
    names = identity.column_names
    mrn = identity.column("mrn").combine_chunks() if "mrn" in names else None
    if mrn is not None:
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(mrn), ""), True)
        missing = count_true(blank)
        if missing < len(mrn):
            if missing:
                _refuse(dataset, blank, missing, source_kind)
            return mrn
    if source_kind == "fhir" and dataset.num_rows:
        log.warning(
            "dataset %s: no Patient has an MRN identifier (type MR, or source.fhir.mrn_system); "
            "Patient.id is used as the hospital patient number for opt-outs and failure lists",
            dataset.name,
        )
    if "patient_id" not in names:
        raise ExtractError(f"dataset {dataset.name}: the export gives no patient number at all")
    return identity.column("patient_id").combine_chunks()


def _refuse(dataset: ExtractedDataset, blank: pa.Array, missing: int, source_kind: str) -> None:
    refs = pc.filter(dataset.row_refs, blank).to_pylist()[:MAX_NAMED]
    more = f" and {missing - MAX_NAMED} more" if missing > MAX_NAMED else ""
    whose = (
        "its Patient has no MRN identifier (type MR, or the system of source.fhir.mrn_system)"
        if source_kind == "fhir"
        else "the patient number (MRN) column is empty"
    )
    raise ExtractError(
        f"dataset {dataset.name}: {missing} record(s) without a hospital patient number while "
        f"the others have one, so their opt-outs cannot be checked: {', '.join(refs)}{more} "
        f"({whose}); give every patient its MRN in the export"
    )
