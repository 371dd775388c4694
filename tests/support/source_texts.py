"""Source resources as the extract hands them to the writer: kept texts in a text file."""

from __future__ import annotations

import msgspec
import numpy as np
import pyarrow as pa

from aanlevering.extract.fhir_texts import TextFile
from aanlevering.output.content import SourceResource
from aanlevering.output.sources import SourceTexts

#: How the extract writes a kept resource's text (compact, keys sorted).
SORTED = msgspec.json.Encoder(order="sorted")


def source_texts(resources: list[SourceResource], repeat: int = 1) -> SourceTexts:
    """``resources`` as the extract's texts (each ``repeat`` times: resources of more records)."""
    texts = pa.array([SORTED.encode(r.resource).decode() for r in resources], pa.string())
    file, sizes = TextFile.of(texts, None)
    keys = pa.array([f"{r.resource['resourceType']}/{r.resource['id']}" for r in resources])
    order = np.tile(np.arange(len(resources)), repeat)
    return SourceTexts(pa.concat_arrays([keys] * repeat), file, order, sizes[order])
