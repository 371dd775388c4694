"""The source resources one delivery carries: those of the records it delivers.

The extract keeps, per record, the resources its values were read from
(:mod:`aanlevering.extract.fhir_resources`). Between the extract and the
output, records leave (outside the period, opted out, no pseudonym); only the
resources of the records still delivered go out, each once, in reading order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import FhirContent
from aanlevering.extract.model import Extract
from aanlevering.output.content import SourceResource

_BATCH = 8_192


def delivers_records(extract: Extract, content: FhirContent) -> bool:
    """Whether QuestionnaireResponses are written: asked for, or the only way to carry the data.

    A CSV-sourced extract has no source resources, so it always delivers its records.
    """
    return content != "resources" or extract.source_resources is None


class SourceTexts(Sequence[SourceResource]):
    """The delivered source resources as the extract's texts, decoded one batch at a time.

    A million-patient delivery carries millions of resources; holding them all as
    dicts costs gigabytes. The writer registers them by key (:meth:`type_ids`) and
    minimises them as they are decoded here. The texts are not copied: this holds
    the extract's text column and the ascending positions of the delivered rows,
    and takes each batch from the chunks it lies in (a filtered copy of the column,
    2.4 GiB at 1M patients, was made twice before).
    """

    def __init__(
        self, keys: pa.Array, texts: pa.Array | pa.ChunkedArray, positions: np.ndarray
    ) -> None:
        self._keys = keys
        self._texts = texts if isinstance(texts, pa.ChunkedArray) else pa.chunked_array([texts])
        self._positions = positions
        self._starts = np.cumsum([0, *(len(chunk) for chunk in self._texts.chunks)])

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> SourceResource: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[SourceResource]: ...

    def __getitem__(self, index: int | slice) -> SourceResource | Sequence[SourceResource]:
        if isinstance(index, slice):
            return SourceTexts(self._keys[index], self._texts, self._positions[index])
        position = int(self._positions[range(len(self))[index]])
        return SourceResource(msgspec.json.decode(self._texts[position].as_py()))

    def __iter__(self) -> Iterator[SourceResource]:
        for start in range(0, len(self._positions), _BATCH):
            for text in self._taken(self._positions[start : start + _BATCH]):
                yield SourceResource(msgspec.json.decode(text))

    def _taken(self, positions: np.ndarray) -> list[str]:
        """The texts at ascending ``positions``, chunk by chunk (a chunked take concatenates)."""
        chunk_of = np.searchsorted(self._starts, positions, side="right") - 1
        texts: list[str] = []
        for chunk in np.unique(chunk_of).tolist():
            local = positions[chunk_of == chunk] - self._starts[chunk]
            texts.extend(self._texts.chunk(chunk).take(pa.array(local)).to_pylist())
        return texts

    def type_ids(self) -> Iterator[tuple[str, str]]:
        """(resource type, source id) of each resource, without decoding it."""
        for start in range(0, len(self._keys), _BATCH):
            for key in self._keys.slice(start, _BATCH).to_pylist():
                resource_type, _, source_id = key.partition("/")
                yield resource_type, source_id


def delivered_sources(extract: Extract, content: FhirContent) -> Sequence[SourceResource]:
    """The resources of the records in ``extract``, each once (none unless asked for)."""
    table = extract.source_resources
    if table is None or content == "questionnaire" or table.num_rows == 0:
        return ()
    arrays = [d.row_refs for d in extract.datasets.values() if len(d.row_refs)]
    if not arrays:
        return ()
    kept = pc.unique(pa.chunked_array(arrays, pa.string()))
    chosen = np.flatnonzero(
        np.asarray(
            pc.is_in(table.column("row_ref"), value_set=kept).to_numpy(zero_copy_only=False),
            dtype=bool,
        )
    )
    keys = table.column("key").take(pa.array(chosen)).combine_chunks()
    # Each resource once, in reading order: the first row of each key.
    first = np.asarray(
        pc.index_in(keys, value_set=keys).to_numpy(zero_copy_only=False), np.int64
    ) == np.arange(len(keys))
    return SourceTexts(pc.filter(keys, pa.array(first)), table.column("text"), chosen[first])
