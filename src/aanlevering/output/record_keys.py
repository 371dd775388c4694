"""Record keys are delivered as keyed hashes, never as the source's own ids.

A dictionary's ``key`` variables are filled from source ids (a FHIR
resource's ``id``, an EHR export's record number); a relation to another
dataset's key carries the same ids. Before any writer sees the clinical
tables, both are replaced by :class:`aanlevering.fhir.ids.RecordKeys`
hashes, namespaced by the referenced key variable so relations still join.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pyarrow as pa

from aanlevering.catalogue.model import DataDictionary, Dataset
from aanlevering.extract.model import ExtractedDataset
from aanlevering.fhir.ids import RecordKeys


def key_namespaces(dataset: Dataset) -> dict[str, str]:
    """Variable -> namespace of every key variable of ``dataset`` and every relation to a key."""
    namespaces = {key: f"{dataset.name}.{key}" for key in dataset.key}
    for relation in dataset.relations:
        namespaces[relation.variable] = f"{relation.dataset}.{relation.target_variable}"
    return namespaces


def hash_record_keys(
    datasets: Mapping[str, ExtractedDataset], dictionary: DataDictionary, keys: RecordKeys
) -> dict[str, ExtractedDataset]:
    """``datasets`` with their key and relation columns replaced by delivered keys."""
    hashed: dict[str, ExtractedDataset] = {}
    for name, extracted in datasets.items():
        table = extracted.clinical
        for variable, namespace in key_namespaces(dictionary.dataset(name)).items():
            if variable in table.column_names:
                position = table.column_names.index(variable)
                column = keys.column(namespace, table.column(variable))
                table = table.set_column(position, pa.field(variable, pa.string()), column)
        hashed[name] = replace(extracted, clinical=table)
    return hashed
