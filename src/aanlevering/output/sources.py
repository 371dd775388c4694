"""The source resources one delivery carries: those of the records it delivers.

The extract keeps, per record, the resources its values were read from
(:mod:`aanlevering.extract.fhir_resources`). Between the extract and the
output, records leave (outside the period, opted out, no pseudonym); only the
resources of the records still delivered go out, each once, in reading order.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import FhirContent
from aanlevering.extract.model import Extract
from aanlevering.output.content import SourceResource


def delivers_records(extract: Extract, content: FhirContent) -> bool:
    """Whether QuestionnaireResponses are written: asked for, or the only way to carry the data.

    A CSV-sourced extract has no source resources, so it always delivers its records.
    """
    return content != "resources" or extract.source_resources is None


def delivered_sources(extract: Extract, content: FhirContent) -> tuple[SourceResource, ...]:
    """The resources of the records in ``extract``, each once (none unless asked for)."""
    table = extract.source_resources
    if table is None or content == "questionnaire" or table.num_rows == 0:
        return ()
    arrays = [d.row_refs for d in extract.datasets.values() if len(d.row_refs)]
    if not arrays:
        return ()
    kept = pc.unique(pa.chunked_array(arrays, pa.string()))
    chosen = table.filter(pc.is_in(table.column("row_ref"), value_set=kept))
    seen: set[str] = set()
    out: list[SourceResource] = []
    for key, text in zip(
        chosen.column("key").to_pylist(), chosen.column("text").to_pylist(), strict=True
    ):
        if key in seen:
            continue
        seen.add(key)
        out.append(SourceResource(json.loads(text)))
    return tuple(out)
