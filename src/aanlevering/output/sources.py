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
from aanlevering.extract.fhir_texts import TextFile
from aanlevering.extract.model import Extract
from aanlevering.fhir.ids import ResourceIds, keyed_ids
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
    dicts costs gigabytes, and holding their texts 2.4 GiB. The writer registers
    them by key (:meth:`keys`) and minimises them as they are decoded here.
    The texts are read back from the extract's file (decision 0310) in delivered
    order, a window at a time: this holds the keys and, per resource, where its
    text lies (``at``) and how long it is (``sizes``).
    """

    def __init__(self, keys: pa.Array, texts: TextFile, at: np.ndarray, sizes: np.ndarray) -> None:
        self._keys = keys
        self._texts = texts
        self._at = at
        self._sizes = sizes

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> SourceResource: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[SourceResource]: ...

    def __getitem__(self, index: int | slice) -> SourceResource | Sequence[SourceResource]:
        if isinstance(index, slice):
            return SourceTexts(self._keys[index], self._texts, self._at[index], self._sizes[index])
        position = range(len(self))[index]
        span = slice(position, position + 1)
        (texts,) = self._texts.take(self._at[span], self._sizes[span])
        return SourceResource(msgspec.json.decode(texts[0].as_py()))

    def __iter__(self) -> Iterator[SourceResource]:
        decode = msgspec.json.decode
        for texts in self._texts.take(self._at, self._sizes):
            for start in range(0, len(texts), _BATCH):
                for text in texts.slice(start, _BATCH).to_pylist():
                    yield SourceResource(decode(text))

    def texts(self) -> Iterator[str]:
        """The text of each resource, in order, not decoded (the writer minimises texts)."""
        for texts in self._texts.take(self._at, self._sizes):
            for start in range(0, len(texts), _BATCH):
                yield from texts.slice(start, _BATCH).to_pylist()

    def windows(self) -> Iterator[pa.Array]:
        """The texts in order, a window of them at a time (a scan in Arrow)."""
        yield from self._texts.take(self._at, self._sizes)

    def type_ids(self) -> Iterator[tuple[str, str]]:
        """(resource type, source id) of each resource, without decoding it."""
        for key in self.keys():
            resource_type, _, source_id = key.partition("/")
            yield resource_type, source_id

    def parts(self) -> tuple[pa.Array, TextFile, np.ndarray, np.ndarray]:
        """Keys, the text file, and where and how long each text is (a worker's copy)."""
        return self._keys, self._texts, self._at, self._sizes

    def keyed_ids(self, ids: ResourceIds) -> Iterator[tuple[str, str]]:
        """(key, delivered id) of each resource in order: :meth:`ResourceIds.of_keys`, a
        batch of keys at a time (the minimiser's own ids, decision 0510)."""
        return keyed_ids(ids, self.keys())

    def keys(self) -> Iterator[str]:
        """The key (``Type/id``) of each resource, without decoding it."""
        for start in range(0, len(self._keys), _BATCH):
            yield from self._keys.slice(start, _BATCH).to_pylist()


def delivered_sources(extract: Extract, content: FhirContent) -> Sequence[SourceResource]:
    """The resources of the records in ``extract``, each once (none unless asked for)."""
    kept = extract.source_resources
    if kept is None or content == "questionnaire" or kept.num_rows == 0:
        return ()
    arrays = [d.row_refs for d in extract.datasets.values() if len(d.row_refs)]
    if not arrays:
        return ()
    records = pc.unique(pa.chunked_array(arrays, pa.string()))
    chosen = np.flatnonzero(_numpy(pc.is_in(kept.row_refs, value_set=records)).astype(bool))
    keys = kept.keys.take(pa.array(chosen)).combine_chunks()
    # Each resource once, in reading order: the first row of each key.
    first = _numpy(pc.index_in(keys, value_set=keys)) == np.arange(len(keys))
    rows = chosen[first]
    at = _numpy(kept.rows.column("at").take(pa.array(rows))).astype(np.int64)
    sizes = _numpy(kept.rows.column("size").take(pa.array(rows))).astype(np.int64)
    return SourceTexts(pc.filter(keys, pa.array(first)), kept.texts, at, sizes)


def _numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))
